"""Boot a kernel under virtme-ng and talk to it over SSH.

    with start_vm(VMRequest(kernel=..., rwdir=..., console_log=...), runner) as vm:
        res = vm.exec(["uname", "-r"], timeout=30)
        vm.stream(["./test_progs", "-t", "x"], out_path, timeout=600)
"""
from __future__ import annotations

import math
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from common.errors import BootError, InfraError, StageTimeout
from common.fsutil import REPO_ROOT
from common.proc import new_token

from .console import EXITED, NO_NET, NO_SSH, BootFailure, ConsoleCapture, classify_failure
from .keys import load_public_key, new_client_key
from .probe import ProbeRequest, ProbeResult, probe_accel
from .ssh import ExecResult, PinnedHostKeyPolicy, SSHSession
from .state import HOME_PREFIX, VMRecord, cleanup_stale, new_record
from .vng import (find_vng, free_port, guard_env, hiding_wanted, keep_paths, kernel_image,
                  stop_group, vng_argv, vng_env)

KILL_GRACE = 15.0     # host waits this long past a guest-side timeout before cutting off
MAX_LIFETIME = 12 * 3600.0   # a VM without a run timeout is killed after this
WATCHDOG_SLACK = 120.0       # the watchdog kills the VM this long past its run timeout
TAIL_LINES = 50

# sshd runs every command through root's login shell, and bash reads ~/.bashrc
# for SSH commands. The host's ~/.bashrc (shared read-only over 9p) can take
# seconds per command under TCG and write to stderr; mask it in the guest once.
QUIET_SHELL = ('for f in "$HOME/.bashrc" /etc/bash.bashrc; do '
               '[ -f "$f" ] && mount --bind /dev/null "$f"; done; true')


@dataclass
class VMRequest:
    kernel: Path                          # bzImage or kernel build (O=) dir
    rwdir: Path                           # the guest's only writable host dir (results)
    console_log: Path                     # full console, from the first byte
    accel: str | None = None              # kvm/tcg forces; None probes (cached)
    cpus: int = 2
    memory: str = "2G"
    append: list[str] = field(default_factory=list)   # extra kernel command line
    boot_timeout: float = 180.0           # vng start to first SSH login
    run_timeout: float | None = None      # whole VM lifetime; the VM is killed after it
    probe_timeout: float = 25.0
    probe_cache: Path | None = None
    vng: Path | None = None
    user: str = "root"
    visible: list[Path] = field(default_factory=list)  # more host paths the guest must see


class VMBootError(BootError):
    """Boot failed. `kind`: panic, no-init, no-ssh, no-network or vm-exited; `tail`: the last
    console lines."""

    def __init__(self, kind: str, detail: str, tail: list[str], console_log: Path):
        body = "\n".join("  | " + line for line in tail)
        super().__init__(f"boot failed ({kind}): {detail}\n"
                         f"last {len(tail)} console lines ({console_log}):\n{body}")
        self.kind = kind
        self.detail = detail
        self.tail = tail
        self.console_log = console_log


class VMRunTimeout(StageTimeout):
    """The VM outlived its run timeout (VMRequest.run_timeout) and was killed
    (exit code 7). Raised by VM.exec/stream once that happened."""

    def __init__(self, run_timeout: float, console_log: Path):
        super().__init__(f"VM killed: it outlived its run timeout of {run_timeout:.0f}s "
                         f"(the job's suite budgets); console: {console_log}")
        self.run_timeout = run_timeout


class VM:
    """A running guest. exec/stream run commands over SSH with a guest-side
    `timeout -s KILL` and a host-side limit on top; a command still running past
    that is killed through a second SSH channel."""

    def __init__(self, req: VMRequest, probe: ProbeResult, proc: subprocess.Popen,
                 console: ConsoleCapture, session: SSHSession, port: int, argv: list[str]):
        self.req = req
        self.probe = probe
        self.proc = proc
        self.console = console
        self.session = session
        self.port = port
        self.argv = argv
        self.expired = False          # the run timeout killed it
        self.boot_seconds = 0.0
        self.containment: dict = {}   # what the guest is kept from (summary facts)

    @property
    def accel(self) -> str:
        return self.probe.accel

    def alive(self) -> bool:
        return self.proc.poll() is None and not self.expired

    def exec(self, cmd: Sequence[str] | str, timeout: float) -> ExecResult:
        """Run argv (quoted for the guest shell) or a guest shell command line."""
        line, tag = guarded(cmd, timeout)
        res = self._call(lambda: self.session.exec(line, timeout + KILL_GRACE))
        return self._settle(res, tag, timeout)

    def stream(self, cmd: Sequence[str] | str, out_path: Path, timeout: float) -> ExecResult:
        """Like exec; stdout+stderr go to `out_path` (appended) as they arrive."""
        line, tag = guarded(cmd, timeout)
        res = self._call(lambda: self.session.stream(line, Path(out_path), timeout + KILL_GRACE))
        return self._settle(res, tag, timeout)

    def _call(self, call) -> ExecResult:
        """One SSH command; VMRunTimeout instead when the run timeout killed the
        VM before or while it ran."""
        self.raise_if_expired()
        try:
            res = call()
        except InfraError:
            self.raise_if_expired()
            raise
        self.raise_if_expired()
        return res

    def raise_if_expired(self) -> None:
        """VMRunTimeout when the run timeout has killed this VM."""
        if self.expired:
            raise VMRunTimeout(self.req.run_timeout or 0.0, self.req.console_log)

    def _settle(self, res: ExecResult, tag: str, timeout: float) -> ExecResult:
        if res.rc is None and self.alive() and self.session.connected:
            try:
                self.session.exec(kill_line(tag), 15.0)
            except InfraError:
                pass
        # the guest-side KILL shows as 137 (a shell reaped it) or as -1 (sshd's
        # child itself was killed: paramiko has no exit status for a signal)
        if res.rc in (137, -1) and res.duration >= timeout - 0.5:
            res.timed_out = True
        return res

    def crash(self):
        """The boot-failure style verdict for the console now (panic, ...), or None."""
        return classify_failure(self.console.lines(), timed_out=False)

    def shutdown(self) -> None:
        self.session.close()
        stop_group(self.proc)
        self.console.join()


def guarded(cmd: Sequence[str] | str, timeout: float) -> tuple[str, str]:
    """The guest command line: `timeout -s KILL N` around the command, with a
    unique tag in timeout's argv so a second channel can find and kill its group."""
    tag = f"kh-{uuid.uuid4().hex[:12]}"
    secs = max(1, math.ceil(timeout))
    if isinstance(cmd, str):
        inner = ["sh", "-c", cmd, tag]
    else:
        inner = ["sh", "-c", 'exec "$@"', tag, *cmd]
    return shlex.join(["timeout", "-s", "KILL", str(secs), *inner]), tag


def kill_line(tag: str) -> str:
    """Kill every process group led by a process whose argv holds `tag`."""
    pat = f"[{tag[0]}]{tag[1:]}"
    return (f"for p in $(pgrep -f {shlex.quote(pat)}); do "
            f"kill -KILL -- -$p 2>/dev/null; kill -KILL $p 2>/dev/null; done; true")


@contextmanager
def start_vm(req: VMRequest, runner, *, probe: ProbeResult | None = None):
    """Boot, wait for SSH, yield a VM; always tear the VM down on the way out."""
    vng = req.vng or find_vng()
    kernel = kernel_image(req.kernel)
    if probe is None:
        probe = probe_accel(ProbeRequest(kernel, accel=req.accel, timeout=req.probe_timeout,
                                         cache=req.probe_cache, vng=vng), runner)
    _say(runner, cleanup_stale())
    home = Path(tempfile.mkdtemp(prefix=HOME_PREFIX))
    rec = new_record(new_token(), home)
    proc = None
    console = None
    timer = None
    vm = None
    watchdog = None
    try:
        rec.save()
        watchdog = _start_watchdog(runner, rec, req.run_timeout or MAX_LIFETIME)
        key = new_client_key(home / ".ssh")
        port = free_port()
        argv = vng_argv(vng, kernel, kvm=probe.accel == "kvm", cpus=req.cpus,
                        memory=req.memory, append=req.append, rwdir=req.rwdir,
                        ssh_port=port)
        Path(req.rwdir).mkdir(parents=True, exist_ok=True)
        hide = hiding_wanted()
        env = guard_env(home, rec.qemu_pidfile, keep_paths(home, req.rwdir, req.visible), hide)
        env.update(vng_env(vng, home))
        start = time.monotonic()
        proc = runner.popen(argv, env=env, stdout=subprocess.PIPE, token=rec.token)
        rec.vng_pid = proc.pid
        rec.save()
        console = ConsoleCapture(proc.stdout, req.console_log)
        session = SSHSession("127.0.0.1", port, req.user, key.pkey, PinnedHostKeyPolicy())
        vm = VM(req, probe, proc, console, session, port, argv)
        vm.containment = {"host_secrets_hidden": hide, "network": "user,restrict=on",
                          "lifetime_limit": req.run_timeout or MAX_LIFETIME}
        timer = threading.Timer(req.run_timeout or MAX_LIFETIME, _expire, args=(vm,))
        timer.daemon = True
        timer.start()
        _wait_for_ssh(vm, home, start)
        vm.boot_seconds = time.monotonic() - start
        vm.exec(QUIET_SHELL, 120.0)
        yield vm
    finally:
        if timer is not None:
            timer.cancel()
        try:
            if vm is not None:
                vm.shutdown()
            elif proc is not None:
                stop_group(proc)
        finally:
            shutil.rmtree(home, ignore_errors=True)
            rec.remove()
            _stop_watchdog(watchdog)


def _say(runner, lines: list[str]) -> None:
    echo = getattr(runner, "echo", None) or (lambda s: print(s, file=sys.stderr, flush=True))
    for line in lines:
        echo(line)


def _start_watchdog(runner, rec: VMRecord, lifetime: float) -> subprocess.Popen:
    """vm/watchdog.py for this VM: it outlives a killed harness and reaps the VM."""
    limit = lifetime + WATCHDOG_SLACK
    return runner.popen([sys.executable, "-m", "vm.watchdog", str(rec.path), f"{limit:.0f}"],
                        cwd=REPO_ROOT, stdin=subprocess.PIPE, die_with_parent=False)


def _stop_watchdog(watchdog: subprocess.Popen | None) -> None:
    """The record is gone: closing its pipe lets the watchdog exit quietly."""
    if watchdog is None:
        return
    try:
        watchdog.stdin.close()
        watchdog.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        watchdog.kill()
        watchdog.wait()


def _expire(vm: VM) -> None:
    """The run timeout's timer (MAX_LIFETIME without one): mark the VM expired
    (its commands then raise VMRunTimeout) and kill it."""
    vm.expired = True
    stop_group(vm.proc)


def _wait_for_ssh(vm: VM, home: Path, start: float) -> None:
    """Connect with backoff; a panic, an early exit or the deadline is a boot failure."""
    deadline = start + vm.req.boot_timeout
    host_key_file = home / ".cache" / "virtme-ng" / ".ssh" / "etc" / "ssh" / \
        "ssh_host_ed25519_key.pub"

    def alive() -> bool:
        # vng writes the fresh guest's host keys before qemu starts: pin that key;
        # until it is there, connections are refused and retried
        if vm.session.policy.pinned is None:
            vm.session.policy.pinned = load_public_key(host_key_file)
        if classify_failure(vm.console.lines(), timed_out=False) is not None:
            return False
        return vm.alive()

    try:
        vm.session.connect(deadline, alive)
    except BootError as e:
        if not vm.alive():
            vm.console.join(2.0)
        lines = vm.console.lines()
        verdict = classify_failure(lines, timed_out=True)
        if verdict.kind in (NO_SSH, NO_NET) and vm.expired:
            verdict = BootFailure(EXITED, "the run timeout expired during boot")
        elif verdict.kind in (NO_SSH, NO_NET) and not vm.alive():
            verdict = BootFailure(EXITED, f"VM exited with status {vm.proc.returncode} "
                                          f"before SSH came up ({verdict.detail})")
        raise VMBootError(verdict.kind, verdict.detail, lines[-TAIL_LINES:],
                          vm.req.console_log) from e
