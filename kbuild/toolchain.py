"""Toolchain choice for a kernel ARCH, presence checks (with the Debian package to
install, and the install itself when root with apt) and the version lines that go
into the build key.

gcc for another arch is Debian's cross compiler `gcc-12-<triplet>` (make gets
`CROSS_COMPILE=<triplet>- CC=<triplet>-gcc-12`: the package has no unversioned
`<triplet>-gcc`); clang is `LLVM=1 ARCH=...` for the arches the kernel builds with
LLVM. An arch that neither can build is refused with the reason."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from common.errors import InfraError, UsageError

HOST_ARCH = "x86_64"
CROSS_GCC = "12"            # Debian 12's cross compilers: gcc-12-<triplet>


@dataclass(frozen=True)
class Arch:
    """A kernel ARCH and how this machine builds it."""
    name: str                   # make's ARCH=
    srcarch: str                # arch/<srcarch>
    triplet: str | None         # Debian gcc-12-<triplet>; None: the host gcc, or no gcc
    llvm: bool                  # the kernel builds it with LLVM=1
    host: bool = False          # the host gcc builds it (x86_64, i386 with -m32, um)

    @property
    def gcc(self) -> bool:
        return self.host or self.triplet is not None


def _a(name, srcarch, triplet, llvm, host=False) -> Arch:
    return Arch(name, srcarch, triplet, llvm, host)


# Kernel ARCH names (with the aliases the kernel's Makefile takes) -> how to build.
# The triplets are Debian 12's gcc-12-<triplet> cross compiler packages; LLVM
# targets as in the kernel's Documentation/kbuild/llvm.rst.
ARCHES: dict[str, Arch] = {a.name: a for a in (
    _a("x86_64", "x86", None, True, host=True),
    _a("x86", "x86", None, True, host=True),
    _a("i386", "x86", None, True, host=True),
    _a("um", "um", None, True, host=True),
    _a("arm64", "arm64", "aarch64-linux-gnu", True),
    _a("arm", "arm", "arm-linux-gnueabi", True),
    _a("riscv", "riscv", "riscv64-linux-gnu", True),
    _a("powerpc", "powerpc", "powerpc64-linux-gnu", True),
    _a("s390", "s390", "s390x-linux-gnu", True),
    _a("mips", "mips", "mips-linux-gnu", True),
    _a("loongarch", "loongarch", None, True),
    _a("hexagon", "hexagon", None, True),
    _a("m68k", "m68k", "m68k-linux-gnu", False),
    _a("sparc", "sparc", "sparc64-linux-gnu", False),
    _a("sparc64", "sparc", "sparc64-linux-gnu", False),
    _a("sparc32", "sparc", "sparc64-linux-gnu", False),
    _a("sh", "sh", "sh4-linux-gnu", False),
    _a("alpha", "alpha", "alpha-linux-gnu", False),
    _a("parisc", "parisc", "hppa-linux-gnu", False),
    _a("parisc64", "parisc", "hppa64-linux-gnu", False),
    _a("arc", "arc", "arc-linux-gnu", False),
    _a("csky", "csky", None, False),
    _a("xtensa", "xtensa", None, False),
    _a("microblaze", "microblaze", None, False),
    _a("nios2", "nios2", None, False),
    _a("openrisc", "openrisc", None, False),
)}

# Cross prefixes a robot report's compiler line uses -> the kernel ARCH.
PREFIX_ARCH = {"aarch64": "arm64", "arm": "arm", "armv7": "arm", "riscv64": "riscv",
               "riscv32": "riscv", "powerpc": "powerpc", "powerpc64": "powerpc",
               "powerpc64le": "powerpc", "s390": "s390", "s390x": "s390", "mips": "mips",
               "mipsel": "mips", "mips64": "mips", "mips64el": "mips", "m68k": "m68k",
               "sparc": "sparc", "sparc64": "sparc", "sh4": "sh", "sh": "sh",
               "alpha": "alpha", "hppa": "parisc", "hppa64": "parisc64", "arc": "arc",
               "loongarch64": "loongarch", "csky": "csky", "xtensa": "xtensa",
               "microblaze": "microblaze", "microblazeel": "microblaze", "nios2": "nios2",
               "or1k": "openrisc", "openrisc": "openrisc", "hexagon": "hexagon",
               "x86_64": "x86_64", "i386": "i386", "i686": "i386"}


def find_arch(name: str) -> Arch:
    """The kernel ARCH `name`; an unknown one raises UsageError listing the known."""
    a = ARCHES.get(name)
    if a is None:
        raise UsageError(f"unknown arch '{name}' (a kernel ARCH name)",
                         hint=f"known: {', '.join(sorted(ARCHES))}")
    return a


def cannot_build(arch: Arch) -> str:
    return (f"cannot build {arch.name} here: no gcc-{arch.name} in Debian, "
            "not an LLVM target")

# Which Debian package provides each tool (or header) the builds need.
PACKAGES = {
    "make": "make", "gcc": "gcc", "ld": "binutils", "flex": "flex", "bison": "bison",
    "bc": "bc", "perl": "perl", "cpio": "cpio", "pahole": "dwarves", "sparse": "sparse",
    "ccache": "ccache", "depmod": "kmod", "clang": "clang", "ld.lld": "lld",
    "llc": "llvm", "llvm-strip": "llvm", "llvm-ar": "llvm", "llvm-objcopy": "llvm",
    "nice": "coreutils", "git": "git",
    "/usr/include/gelf.h": "libelf-dev", "/usr/include/openssl/ssl.h": "libssl-dev",
    "/usr/include/zlib.h": "zlib1g-dev", "/usr/include/sys/capability.h": "libcap-dev",
}


def package_for(tool: str) -> str:
    """Debian package for a tool; versioned LLVM tools map to versioned packages, a
    cross gcc (`aarch64-linux-gnu-gcc-12`) to gcc-12-<triplet>, a cross ld to
    binutils-<triplet>."""
    if tool in PACKAGES:
        return PACKAGES[tool]
    for a in ARCHES.values():
        if a.triplet and tool.startswith(a.triplet + "-"):
            rest = tool[len(a.triplet) + 1:]
            if rest.startswith("gcc-"):
                return f"gcc-{rest[4:]}-{a.triplet}"
            return f"binutils-{a.triplet}"
    base, sep, ver = tool.rpartition("-")
    if sep and ver.isdigit() and base in PACKAGES:
        pkg = PACKAGES[base]
        return {"clang": f"clang-{ver}", "lld": f"lld-{ver}", "llvm": f"llvm-{ver}"}.get(
            pkg, pkg)
    return tool


@dataclass(frozen=True)
class Toolchain:
    name: str                   # gcc, llvm, llvm-19
    llvm: str | None            # make's LLVM= value: None, "1", "-19"
    arch: str = HOST_ARCH       # make's ARCH=
    cross: str | None = None    # CROSS_COMPILE= for a Debian cross gcc: "aarch64-linux-gnu-"

    @property
    def suffix(self) -> str:
        return self.llvm if self.llvm and self.llvm.startswith("-") else ""

    @property
    def cc(self) -> str:
        if self.llvm:
            return f"clang{self.suffix}"
        return f"{self.cross}gcc-{CROSS_GCC}" if self.cross else "gcc"

    @property
    def ld(self) -> str:
        if self.llvm:
            return f"ld.lld{self.suffix}"
        return f"{self.cross}ld" if self.cross else "ld"

    @property
    def packages(self) -> list[str]:
        """The Debian packages of the compiler and linker."""
        return sorted({package_for(self.cc), package_for(self.ld)})

    def cross_vars(self) -> list[str]:
        """The make variables a cross gcc needs (none for the host gcc or clang)."""
        return [f"CROSS_COMPILE={self.cross}", f"CC={self.cc}"] if self.cross else []

    def make_vars(self) -> list[str]:
        return ([f"LLVM={self.llvm}"] if self.llvm else []) + self.cross_vars()


def toolchain(name: str, arch: str = HOST_ARCH) -> Toolchain:
    """gcc (default), llvm (LLVM=1) or llvm-NN (LLVM=-NN), building for the kernel
    ARCH `arch`. An arch that toolchain cannot build raises UsageError saying why."""
    a = find_arch(arch)
    if name in ("gcc", "", None):
        if not a.gcc:
            if a.llvm:
                raise UsageError(f"cannot build {arch} with gcc here: no gcc-{arch} in "
                                 "Debian", hint="it is an LLVM target: --toolchain llvm-19")
            raise UsageError(cannot_build(a))
        return Toolchain("gcc", None, arch, None if a.host else a.triplet + "-")
    if name == "llvm" or (name.startswith("llvm-") and name[5:].isdigit()):
        if not a.llvm:
            if a.gcc:
                raise UsageError(f"cannot build {arch} with clang: not an LLVM target of "
                                 "the kernel", hint=f"--toolchain gcc (gcc-{CROSS_GCC}-"
                                                    f"{a.triplet})")
            raise UsageError(cannot_build(a))
        return Toolchain(name, "1" if name == "llvm" else "-" + name[5:], arch)
    raise UsageError(f"unknown toolchain '{name}'", hint="gcc, llvm or llvm-19")


def can_install() -> bool:
    """Root with apt-get: a missing compiler can be installed."""
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def install_argv(packages: list[str]) -> list[str]:
    return ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages]


def ensure_compiler(tc: Toolchain, runner=None, *, which=shutil.which, installable=None,
                    echo=None) -> list[str]:
    """That tc's compiler and linker are installed. Missing ones are installed when
    root with apt (the command is printed; nothing is run when all are there), else
    UsageError names the package. Only a cross gcc and its binutils are installed
    this way (the host's gcc and clang come from `make setup`). Returns the packages
    it installed."""
    missing = [t for t in (tc.cc, tc.ld) if which(t) is None]
    if not missing:
        return []
    pkgs = sorted({package_for(t) for t in missing})
    what = (f"toolchain {tc.name}" + (f" for {tc.arch}" if tc.arch != HOST_ARCH else "")
            + f": {missing[0]} is not installed"
            + (f" (nor {', '.join(missing[1:])})" if missing[1:] else ""))
    hint = f"apt-get install {' '.join(pkgs)}"
    if not tc.cross or not (can_install() if installable is None else installable):
        raise UsageError(what, hint=hint + " (as root)")
    if runner is None:
        from common.proc import Runner
        runner = Runner()
    say = echo or (lambda s: print(s, file=__import__("sys").stderr, flush=True))
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    for attempt in (1, 2):
        say(f"toolchain: {what}; installing: {' '.join(install_argv(pkgs))}")
        res = runner.run(install_argv(pkgs), env=env, timeout=1800)
        if res.returncode == 0:
            break
        if attempt == 1 and "Unable to locate package" in (res.stderr + res.stdout):
            say("toolchain: apt-get update (the package lists do not have it)")
            runner.run(["apt-get", "update", "-qq"], env=env, timeout=600)
            continue
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise UsageError(f"{what}; apt-get install failed: {tail[0]}", hint=hint)
    still = [t for t in (tc.cc, tc.ld) if which(t) is None]
    if still:
        raise UsageError(f"{what}; still missing after apt-get install", hint=hint)
    return pkgs


def missing_tool(tool: str) -> InfraError:
    pkg = package_for(tool)
    return InfraError(f"missing build tool: {tool}",
                      hint=f"install the Debian package: apt-get install {pkg} "
                           f"(or run `make setup`)")


def version_line(runner, tool: str, flag: str = "--version") -> str:
    """First line of `tool --version`; a missing tool raises InfraError naming its package."""
    try:
        res = runner.run([tool, flag], timeout=60)
    except InfraError as e:
        raise missing_tool(tool) from e
    if res.returncode == 127:
        raise missing_tool(tool)
    text = (res.stdout or res.stderr).strip()
    if res.returncode != 0 and not text:
        raise missing_tool(tool)
    return text.splitlines()[0] if text else ""


def check_headers(paths: list[str]) -> None:
    for p in paths:
        if not Path(p).exists():
            raise missing_tool(p)


def kernel_tools(tc: Toolchain, *, sparse: bool, ccache: bool, btf: bool) -> list[str]:
    tools = ["make", tc.cc, tc.ld, "flex", "bison", "bc"]
    if btf:
        tools.append("pahole")
    if sparse:
        tools.append("sparse")
    if ccache:
        tools.append("ccache")
    return tools


def versions(runner, tools: list[str]) -> dict[str, str]:
    """Version lines for the key. ccache is checked but left out (it does not
    change the output)."""
    out = {}
    for t in tools:
        line = version_line(runner, t)
        if t != "ccache":
            out[t] = line
    return out
