"""Make flags a job passes to the kernel build (`--make-flag VAR=value`).

Every flag reaches make and the build key. The few that the harness itself must
act on are interpreted here, never dropped:

    W=...     extra warnings; W=1 (or any W containing 1) marks a W=1 build
    C=1, C=2  sparse: the build needs the sparse tool
    LLVM=...  must agree with the job's toolchain (LLVM=1 is --toolchain llvm,
              LLVM=-19 is --toolchain llvm-19); it comes from the toolchain
    ARCH=...  must be the job's arch (--arch; the harness sets ARCH, and for a
              cross gcc CROSS_COMPILE and CC)
Flags that would take the build away from the harness (O=, -j, CC=, targets
without '=') are refused with the reason.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from common.errors import UsageError

FLAG_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$", re.S)
OWNED = {"O": "the harness chooses the build dir", "CC": "choose --toolchain instead",
         "LD": "choose --toolchain instead", "HOSTCC": "choose --toolchain instead",
         "CROSS_COMPILE": "choose --arch instead (it picks Debian's cross compiler)"}


@dataclass(frozen=True)
class MakeFlags:
    flags: tuple[str, ...] = ()       # passed to make as given (LLVM=/ARCH= excepted)
    w1: bool = False
    sparse: bool = False


def parse_make_flags(flags: list[str], llvm: str | None, arch: str = "x86_64") -> MakeFlags:
    """Check and interpret `flags` for a toolchain whose LLVM= value is `llvm`.
    Raises UsageError listing every bad flag."""
    keep, errors, w1, sparse = [], [], False, False
    for text in flags:
        m = FLAG_RE.match(text)
        if not m:
            errors.append(f"make flag '{text}' is not VAR=value (use --target for targets)")
            continue
        var, val = m.groups()
        why = _refused(var, val, llvm, arch)
        if why:
            errors.append(f"make flag '{text}': {why}")
            continue
        if var in ("LLVM", "ARCH"):
            continue                     # the toolchain/arch already put it on the line
        w1 = w1 or (var == "W" and "1" in val)
        sparse = sparse or (var == "C" and val in ("1", "2"))
        keep.append(text)
    if errors:
        raise UsageError("; ".join(errors))
    return MakeFlags(tuple(keep), w1, sparse)


def _refused(var: str, val: str, llvm: str | None, arch: str) -> str | None:
    if var in OWNED:
        return OWNED[var]
    if var == "LLVM" and val != (llvm or ""):
        want = {None: "gcc", "1": "llvm"}.get(llvm, f"llvm{llvm}")
        return (f"the job's toolchain is {want}; choose --toolchain "
                f"{'llvm' if val == '1' else 'llvm' + val} instead")
    if var == "ARCH" and val != arch and not _same_arch(val, arch):
        return f"the job builds ARCH={arch}; choose --arch {val} instead"
    if var == "C" and val not in ("1", "2"):
        return "C= takes 1 or 2 (sparse)"
    return None


def _same_arch(val: str, arch: str) -> bool:
    """ARCH=x86 on an x86_64 job (the kernel's own alias) is the same build."""
    return arch == "x86_64" and val == "x86"
