"""The process seam: every subprocess the harness starts goes through a Runner.

Unit tests pass a FakeRunner; integration tests and the CLI use Runner.
Commands are argument lists, never shell strings built from input.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

from .errors import InfraError, StageTimeout


@dataclass
class Result:
    argv: list[str]
    returncode: int
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


def fmt_cmd(argv: Sequence[str], cwd: str | os.PathLike | None = None,
            env: dict[str, str] | None = None) -> str:
    """A copy-pasteable shell line for argv (used for echo and reproduce.sh)."""
    parts = []
    if cwd:
        parts.append(f"cd {shlex.quote(str(cwd))} &&")
    for k, v in sorted((env or {}).items()):
        parts.append(f"{k}={shlex.quote(v)}")
    parts.extend(shlex.quote(str(a)) for a in argv)
    return " ".join(parts)


class Runner:
    """Runs commands for real. Echoes each one when verbose, appends to a command log."""

    def __init__(self, verbose: bool = False, echo: Callable[[str], None] | None = None,
                 cmdlog: Path | None = None):
        self.verbose = verbose
        self.echo = echo or (lambda s: print(s, file=sys.stderr, flush=True))
        self.cmdlog = cmdlog

    def for_log(self, cmdlog: Path) -> "Runner":
        """The same runner, writing its command log to `cmdlog` (one per job)."""
        return Runner(self.verbose, self.echo, cmdlog)

    def _note(self, line: str) -> None:
        if self.verbose:
            self.echo(f"+ {line}")
        if self.cmdlog is not None:
            self.cmdlog.parent.mkdir(parents=True, exist_ok=True)
            with open(self.cmdlog, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def run(self, argv: Sequence[str], *, cwd: str | os.PathLike | None = None,
            env: dict[str, str] | None = None, timeout: float | None = None,
            log: Path | None = None, check: bool = False, input: str | None = None,
            error: type = InfraError) -> Result:
        """Run argv to completion. With `log`, stdout+stderr stream to that file
        as they come (so a killed run leaves its output on disk)."""
        argv = [str(a) for a in argv]
        self._note(fmt_cmd(argv, cwd, env))
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        start = time.monotonic()
        try:
            if log is not None:
                res = self._run_logged(argv, cwd, full_env, timeout, log, input)
            else:
                res = self._run_captured(argv, cwd, full_env, timeout, input)
        except FileNotFoundError as e:
            raise error(f"command not found: {argv[0]}", hint=str(e)) from e
        res.duration = time.monotonic() - start
        if res.timed_out:
            raise StageTimeout(f"timed out after {timeout:.0f}s: {fmt_cmd(argv)}")
        if check and res.returncode != 0:
            tail = (res.stderr or res.stdout)[-2000:]
            where = f" (log: {log})" if log else ""
            raise error(f"command failed with exit {res.returncode}: {fmt_cmd(argv)}{where}\n{tail}")
        return res

    @staticmethod
    def _run_captured(argv, cwd, env, timeout, input) -> Result:
        p = subprocess.Popen(argv, cwd=cwd, env=env, text=True, errors="replace",
                             stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        try:
            out, err = p.communicate(input=input, timeout=timeout)
            return Result(argv, p.returncode, out, err)
        except subprocess.TimeoutExpired:
            kill_group(p)
            out, err = p.communicate()
            return Result(argv, -9, out or "", err or "", timed_out=True)
        except BaseException:
            kill_group(p)
            raise

    @staticmethod
    def _run_logged(argv, cwd, env, timeout, log: Path, input) -> Result:
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as f:
            f.write(f"+ {fmt_cmd(argv, cwd)}\n".encode())
            f.flush()
            p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT,
                                 stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
                                 start_new_session=True)
            try:
                if input is not None:
                    p.communicate(input=input.encode(), timeout=timeout)
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(p)
                return Result(argv, -9, "", "", timed_out=True)
            except BaseException:
                kill_group(p)
                raise
        text = log.read_text(errors="replace")
        return Result(argv, p.returncode, text[-200000:], "")

    def popen(self, argv: Sequence[str], *, cwd=None, env=None, stdout=None) -> subprocess.Popen:
        """Start a long-lived process (qemu) in its own process group."""
        argv = [str(a) for a in argv]
        self._note(fmt_cmd(argv, cwd, env))
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        return subprocess.Popen(argv, cwd=cwd, env=full_env, stdin=subprocess.DEVNULL,
                                stdout=stdout or subprocess.DEVNULL,
                                stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(p: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL after `grace` seconds."""
    if p.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@dataclass
class FakeRunner:
    """Test double: answers commands from a table of (predicate, Result) rules."""

    rules: list = field(default_factory=list)
    calls: list = field(default_factory=list)
    verbose: bool = False

    def on(self, match: Callable[[list[str]], bool] | str, returncode=0, stdout="", stderr="",
           timed_out=False, effect: Callable[[list[str]], None] | None = None) -> "FakeRunner":
        if isinstance(match, str):
            needle = match
            match = lambda argv: needle in " ".join(argv)  # noqa: E731
        self.rules.append((match, returncode, stdout, stderr, timed_out, effect))
        return self

    def run(self, argv, *, cwd=None, env=None, timeout=None, log=None, check=False,
            input=None, error=InfraError) -> Result:
        argv = [str(a) for a in argv]
        self.calls.append({"argv": argv, "cwd": cwd, "env": env, "timeout": timeout})
        for match, rc, out, err, to, effect in self.rules:
            if match(argv):
                if effect:
                    effect(argv)
                if log is not None:
                    Path(log).parent.mkdir(parents=True, exist_ok=True)
                    with open(log, "a") as f:
                        f.write(out + err)
                if to:
                    raise StageTimeout(f"timed out after {timeout}s: {fmt_cmd(argv)}")
                if check and rc != 0:
                    raise error(f"command failed with exit {rc}: {fmt_cmd(argv)}\n{err}")
                return Result(argv, rc, out, err)
        raise AssertionError(f"FakeRunner: no rule for {argv}")


@runtime_checkable
class ProcessRunner(Protocol):
    """The seam every subprocess goes through: Runner runs for real, FakeRunner
    answers from a table. Stages take this type, never subprocess."""

    verbose: bool

    def run(self, argv: Sequence[str], *, cwd=None, env=None, timeout=None, log=None,
            check: bool = False, input=None, error: type = InfraError) -> Result: ...
