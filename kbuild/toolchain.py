"""Toolchain choice, presence checks (with the Debian package to install) and
the version lines that go into the build key."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.errors import InfraError, UsageError

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
    """Debian package for a tool; versioned LLVM tools map to versioned packages."""
    if tool in PACKAGES:
        return PACKAGES[tool]
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

    @property
    def suffix(self) -> str:
        return self.llvm if self.llvm and self.llvm.startswith("-") else ""

    @property
    def cc(self) -> str:
        return f"clang{self.suffix}" if self.llvm else "gcc"

    @property
    def ld(self) -> str:
        return f"ld.lld{self.suffix}" if self.llvm else "ld"

    def make_vars(self) -> list[str]:
        return [f"LLVM={self.llvm}"] if self.llvm else []


def toolchain(name: str) -> Toolchain:
    """gcc (default), llvm (LLVM=1) or llvm-NN (LLVM=-NN)."""
    if name in ("gcc", "", None):
        return Toolchain("gcc", None)
    if name == "llvm":
        return Toolchain("llvm", "1")
    if name.startswith("llvm-") and name[5:].isdigit():
        return Toolchain(name, "-" + name[5:])
    raise UsageError(f"unknown toolchain '{name}'", hint="gcc, llvm or llvm-19")


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
