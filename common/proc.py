"""The process seam: every subprocess the harness starts goes through a Runner.

Unit tests pass a FakeRunner; integration tests and the CLI use Runner.
Commands are argument lists, never shell strings built from input.
"""
from __future__ import annotations

import ctypes
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, Sequence, runtime_checkable

from .errors import InfraError, StageTimeout

# Every child carries KHARNESS_TOKEN=<unique id> in its environment: its whole
# tree (even descendants that called setsid and were re-parented to init) is
# found again by that token, by a timeout and by the stale-VM clean-up.
TOKEN_VAR = "KHARNESS_TOKEN"
LOG_TAIL = 200_000      # bytes of a logged command's output kept in its Result
PR_SET_PDEATHSIG = 1
_LIBC = ctypes.CDLL(None, use_errno=True)
_PRCTL = _LIBC.prctl


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGKILL when the harness thread that started it
    dies (SIGKILL of the harness included). It survives exec (vng execs qemu)."""
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def new_token() -> str:
    return f"kh-{uuid.uuid4().hex}"


def child_env(env: dict[str, str] | None, token: str | None = None) -> dict[str, str]:
    """os.environ + env, with a fresh (or the given) tree token."""
    full = dict(os.environ)
    if env:
        full.update(env)
    full[TOKEN_VAR] = token or new_token()
    return full


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
        full_env = child_env(env)
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
                             start_new_session=True, preexec_fn=_die_with_parent)
        p.kh_token = env.get(TOKEN_VAR)
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
                                 start_new_session=True, preexec_fn=_die_with_parent)
            p.kh_token = env.get(TOKEN_VAR)
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
        return Result(argv, p.returncode, read_tail(log, LOG_TAIL), "")

    def popen(self, argv: Sequence[str], *, cwd=None, env=None, stdout=None,
              token: str | None = None, stdin=None,
              die_with_parent: bool = True) -> subprocess.Popen:
        """Start a long-lived process (qemu) in its own process group, with a
        parent-death signal (unless `die_with_parent` is False: a watchdog
        that must outlive the harness) and the tree token `token` (TOKEN_VAR)."""
        argv = [str(a) for a in argv]
        self._note(fmt_cmd(argv, cwd, env))
        full_env = child_env(env, token)
        p = subprocess.Popen(argv, cwd=cwd, env=full_env,
                             stdin=subprocess.DEVNULL if stdin is None else stdin,
                             stdout=stdout or subprocess.DEVNULL,
                             stderr=subprocess.STDOUT, start_new_session=True,
                             preexec_fn=_die_with_parent if die_with_parent else None)
        p.kh_token = full_env[TOKEN_VAR]
        return p


def read_tail(path: Path, limit: int) -> str:
    """The last `limit` bytes of a file, decoded (never the whole file in memory)."""
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(0, size - limit))
        return f.read().decode(errors="replace")


def _stat(pid_dir: Path) -> tuple[str, int, int] | None:
    """(state, ppid, pgid) of /proc/<pid>, or None when it is gone."""
    try:
        fields = (pid_dir / "stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None
    return fields[0], int(fields[1]), int(fields[2])


def _has_token(pid_dir: Path, token: str) -> bool:
    try:
        env = (pid_dir / "environ").read_bytes()
    except OSError:
        return False
    return f"{TOKEN_VAR}={token}".encode() in env.split(b"\0")


def tree_pids(pid: int | None, token: str | None = None,
              proc_root: Path = Path("/proc")) -> set[int]:
    """Live processes of `pid`'s tree: its process group, its descendants by
    parent pid (also those that left the group with setsid) and every process
    whose environment holds the tree token (also those re-parented to init).
    With pid None: the token's processes and their descendants only."""
    parent: dict[int, int] = {}
    found: set[int] = set()
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        st = _stat(entry)
        if st is None or st[0] == "Z":
            continue
        p = int(entry.name)
        parent[p] = st[1]
        if pid is not None and (p == pid or st[2] == pid) or \
                (token and _has_token(entry, token)):
            found.add(p)
    grew = True
    while grew:
        kids = {p for p, pp in parent.items()
                if pp in found or (pid is not None and pp == pid)} - found
        found |= kids
        grew = bool(kids)
    found.discard(os.getpid())
    return found


def _signal_all(pids: set[int], pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    for p in pids:
        try:
            os.kill(p, sig)
        except (ProcessLookupError, PermissionError):
            pass


def kill_tree(p: subprocess.Popen, grace: float = 5.0, token: str | None = None) -> None:
    """SIGTERM the whole tree of `p` (tree_pids), SIGKILL it after `grace`
    seconds; descendants that left the group or were re-parented die too."""
    token = token or getattr(p, "kh_token", None) or token_of(p.pid)
    pids = tree_pids(p.pid, token)
    if p.poll() is not None and not pids:
        return
    _signal_all(pids, p.pid, signal.SIGTERM)
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + 5.0
    while True:
        pids |= tree_pids(p.pid, token)
        live = {q for q in pids if _alive(q)}
        if not live and p.poll() is not None:
            return
        _signal_all(live, p.pid, signal.SIGKILL)
        try:
            p.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
        if time.monotonic() > deadline:
            return
        pids = live


def kill_token(token: str, wait: float = 5.0) -> list[int]:
    """SIGKILL every live process holding the tree token (and its descendants);
    wait up to `wait` s for them to go. Returns the pids killed."""
    killed: set[int] = set()
    deadline = time.monotonic() + wait
    while True:
        live = tree_pids(None, token)
        if not live or time.monotonic() > deadline:
            return sorted(killed)
        for p in live:
            try:
                os.kill(p, signal.SIGKILL)
                killed.add(p)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.05)


def proc_start(pid: int) -> int | None:
    """The start time (clock ticks since boot) of a live process, or None: with
    its pid it names a process for good (pids are reused)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else int(fields[19])


def _alive(pid: int) -> bool:
    st = _stat(Path(f"/proc/{pid}"))
    return st is not None and st[0] != "Z"


def token_of(pid: int) -> str | None:
    """The tree token in a live process's environment (None if unreadable)."""
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return None
    for item in env.split(b"\0"):
        if item.startswith(f"{TOKEN_VAR}=".encode()):
            return item.split(b"=", 1)[1].decode(errors="replace")
    return None


def kill_group(p: subprocess.Popen, grace: float = 5.0) -> None:
    """Kill `p`'s whole tree: its group and every descendant (kill_tree)."""
    kill_tree(p, grace)


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
