"""Guest preparation (BPF CI style) and the shell prologue of every test command."""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InfraError

GUEST_DIR = Path(__file__).resolve().parent / "guest"
PREPARE = GUEST_DIR / "prepare.sh"

# Raised per command (rlimits are per process and sshd's children start with the
# defaults); TMPDIR points at the guest's private tmpfs.
PROLOGUE = ("ulimit -l unlimited 2>/dev/null; ulimit -n 65536 2>/dev/null; "
            "export TMPDIR=/tmp LC_ALL=C.UTF-8;")


@dataclass
class GuestInfo:
    mounts: dict[str, str] = field(default_factory=dict)    # bpf: mounted|present|...
    binds: dict[str, str] = field(default_factory=dict)     # host /tmp path: mounted|failed
    rlimits: dict[str, str] = field(default_factory=dict)   # memlock: ok|failed
    tmp: str = ""                                           # mounted|failed
    kernel: str = ""
    missing: list[str] = field(default_factory=list)        # filesystems the kernel lacks
    failed: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"mounts": self.mounts, "binds": self.binds, "rlimits": self.rlimits,
                "tmp": self.tmp, "kernel": self.kernel, "missing": self.missing,
                "failed": self.failed}


def parse_prepare(output: str) -> GuestInfo:
    """Read prepare.sh's "kh-<what> <name> <state> <arg>" lines."""
    info = GuestInfo()
    for line in output.splitlines():
        parts = line.split(None, 3)
        if len(parts) < 3 or not parts[0].startswith("kh-"):
            continue
        what, name, state = parts[0], parts[1], parts[2]
        arg = parts[3] if len(parts) > 3 else ""
        if what == "kh-mount":
            info.mounts[name] = state
            if state == "unsupported":
                info.missing.append(name)
            elif state == "failed":
                info.failed.append(f"mount {name} on {arg}")
        elif what == "kh-bind":
            info.binds[name] = state
            if state == "failed":
                info.failed.append(f"bind {name}")
        elif what == "kh-rlimit":
            info.rlimits[name] = state
            if state == "failed":
                info.failed.append(f"rlimit {name} {arg}")
        elif what == "kh-tmp":
            info.tmp = state
        elif what == "kh-kernel":
            info.kernel = arg
    return info


def prepare_guest(vm, keep: list[Path], timeout: float = 120.0) -> GuestInfo:
    """Run prepare.sh in the guest (from its read-only host path). `keep`: host
    paths the tests need (selftests dir, results dir); those under /tmp are
    bound back after the guest's /tmp becomes a private tmpfs. prepare.sh's own
    dir is kept too: the next suite of the same boot runs it again, and a
    harness checkout under /tmp would be gone from the private /tmp."""
    argv = ["sh", str(PREPARE), str(PREPARE.parent), *[str(Path(p)) for p in keep]]
    res = vm.exec(argv, timeout)
    info = parse_prepare(res.stdout)
    if res.timed_out or res.rc != 0 or info.tmp != "mounted":
        raise InfraError(f"guest preparation failed (rc {res.rc}, timed out {res.timed_out})"
                         f":\n{res.stdout}{res.stderr}")
    return info


def shell_line(argv: list[str], cwd: Path | str | None = None) -> str:
    """The guest shell line for one test command: prologue, cd, exec argv."""
    cd = f"cd {shlex.quote(str(cwd))} && " if cwd else ""
    return f"{PROLOGUE} {cd}exec {shlex.join(argv)}"
