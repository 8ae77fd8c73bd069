"""The virtme-ng command line and the life of its process group."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from common.errors import InfraError, UsageError
from common.fsutil import REPO_ROOT, cache_dir, results_root
from common.proc import kill_group

# Always passed to the guest kernel:
#  root=/dev/root  the 9p root's mount tag; a kernel without CONFIG_BLOCK cannot
#                  mount virtme's 9p root without it (it names no root device).
#  panic=-1        reboot at once on panic; with qemu -no-reboot the VM then exits.
BASE_APPEND = ["root=/dev/root", "panic=-1"]


def find_vng() -> Path:
    """vng next to the running Python (the project venv), else on PATH."""
    here = Path(sys.executable).parent / "vng"
    if here.exists():
        return here
    found = shutil.which("vng")
    if not found:
        raise UsageError("virtme-ng (vng) not found", hint="run `make setup`")
    return Path(found)


def kernel_image(kernel: Path) -> Path:
    """The bzImage for a kernel given as an image or as a build (O=) dir."""
    kernel = Path(kernel)
    if kernel.is_dir():
        img = kernel / "arch" / "x86" / "boot" / "bzImage"
        if not img.is_file():
            raise UsageError(f"no arch/x86/boot/bzImage under build dir {kernel}")
        return img
    if not kernel.is_file():
        raise UsageError(f"kernel image not found: {kernel}")
    return kernel


def vng_argv(vng: Path, kernel: Path, *, kvm: bool, cpus: int, memory: str,
             append: list[str], rwdir: Path | None = None,
             ssh_port: int | None = None) -> list[str]:
    """vng --run with the host root read-only (virtme's default), 9p root, the
    console on stdout (--verbose also sends early printk there), no monitor."""
    argv = [str(vng), "--run", str(kernel), "--verbose", "--force-9p", "--disable-monitor",
            "--cpus", str(cpus), "--memory", str(memory), "--qemu-opts=-no-reboot"]
    if not kvm:
        argv.append("--disable-kvm")
    if rwdir is not None:
        argv += ["--rwdir", str(rwdir)]
    if ssh_port is not None:
        argv += ["--ssh", str(ssh_port), "--ssh-tcp"]
    for a in BASE_APPEND + list(append):
        argv += ["--append", a]
    return argv


def vng_env(vng: Path, home: Path) -> dict[str, str]:
    """vng finds virtme-run on PATH and keeps its SSH state under $HOME: a per-run
    HOME gives fresh host keys and makes the guest trust $HOME/.ssh/id_*.pub."""
    path = f"{Path(vng).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
    shim = home / "bin"
    if (shim / QEMU).is_symlink():          # guard_env put the qemu guard there
        path = f"{shim}{os.pathsep}{path}"
    return {"HOME": str(home), "PATH": path}


GUARD = Path(__file__).resolve().parent / "guard.py"
QEMU = "qemu-system-x86_64"


def hiding_wanted() -> bool:
    """Hide host secrets from the guest (vm/guard.py): as root, unless
    KHARNESS_GUEST_HIDE=0. Without root there is no mount namespace to do it in;
    the guest then sees what the harness's user can read."""
    return os.geteuid() == 0 and os.environ.get("KHARNESS_GUEST_HIDE", "1") != "0"


def keep_paths(home: Path, rwdir: Path | None, extra: list[Path]) -> list[Path]:
    """What the guest still sees under the hidden dirs: the harness's code and
    venv, its caches (builds, selftests), the results, the VM's rwdir, vng's
    state for the guest's sshd and the public half of the client key."""
    paths = [REPO_ROOT, Path(sys.prefix), cache_dir(), results_root(),
             home / ".cache" / "virtme-ng", *sorted((home / ".ssh").glob("*.pub")), *extra]
    if rwdir is not None:
        paths.append(rwdir)
    return paths


def guard_env(home: Path, pidfile: Path, keep: list[Path], hide: bool) -> dict[str, str]:
    """The environment that puts vm/guard.py in front of qemu on vng's PATH (see
    vng_env): a parent-death signal, its pid in `pidfile`, `restrict=on` on the
    user network, and with `hide` the host secrets hidden. KHARNESS_QEMU_BIN
    names another qemu binary."""
    real = os.environ.get("KHARNESS_QEMU_BIN") or shutil.which(QEMU)
    if real is None:
        raise UsageError(f"{QEMU} not found on PATH", hint="install qemu-system-x86")
    shim = home / "bin"
    shim.mkdir(parents=True, exist_ok=True)
    (shim / QEMU).unlink(missing_ok=True)
    (shim / QEMU).symlink_to(GUARD)
    return {"KHARNESS_QEMU": real, "KHARNESS_QEMU_PIDFILE": str(pidfile),
            "KHARNESS_HIDE": "1" if hide else "0",
            "KHARNESS_KEEP": os.pathsep.join(str(p) for p in keep),
            "KHARNESS_SHIM_DIR": str(shim)}


def free_port() -> int:
    """A TCP port on 127.0.0.1 free right now (qemu binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_members(pgid: int, proc_root: Path = Path("/proc")) -> list[int]:
    """Live (non-zombie) processes whose process group is `pgid`."""
    pids = []
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def group_alive(pgid: int) -> bool:
    return bool(group_members(pgid))


def stop_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM the process group, then SIGKILL; then make sure nothing of it
    (qemu above all) is left. Raises InfraError if the group survives."""
    pgid = proc.pid
    kill_group(proc, grace=grace)
    if proc.poll() is None:
        proc.wait(timeout=5)
    deadline = time.monotonic() + 5.0
    while group_alive(pgid):
        if time.monotonic() > deadline:
            raise InfraError(f"VM process group {pgid} survived SIGKILL",
                             hint=f"check `pgrep -g {pgid}`")
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            break
        time.sleep(0.1)
