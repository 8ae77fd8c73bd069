"""The toolchain for a kernel ARCH: Debian's cross gcc (CROSS_COMPILE, CC), clang
for the LLVM arches, the clear refusal for an arch nothing here builds, and the
install of a missing cross compiler (root with apt) or the package it names."""
import pytest

from common.errors import UsageError
from common.proc import FakeRunner
from kbuild.build import BuildRequest, make_argv, make_flags
from kbuild.key import KeyParts
from kbuild.makeflags import parse_make_flags
from kbuild.toolchain import (ARCHES, PREFIX_ARCH, ensure_compiler, find_arch, package_for,
                              toolchain)


def test_host_gcc_is_unchanged():
    tc = toolchain("gcc")
    assert (tc.cc, tc.ld, tc.cross, tc.arch) == ("gcc", "ld", None, "x86_64")
    assert tc.make_vars() == [] and tc.cross_vars() == []
    assert toolchain("gcc", "x86_64") == tc


@pytest.mark.parametrize("arch,triplet", [
    ("arm64", "aarch64-linux-gnu"), ("arm", "arm-linux-gnueabi"),
    ("riscv", "riscv64-linux-gnu"), ("powerpc", "powerpc64-linux-gnu"),
    ("s390", "s390x-linux-gnu"), ("mips", "mips-linux-gnu"), ("m68k", "m68k-linux-gnu"),
    ("sparc", "sparc64-linux-gnu"), ("sh", "sh4-linux-gnu"), ("alpha", "alpha-linux-gnu"),
    ("parisc", "hppa-linux-gnu"), ("parisc64", "hppa64-linux-gnu"), ("arc", "arc-linux-gnu"),
])
def test_cross_gcc_is_debians_gcc_12(arch, triplet):
    tc = toolchain("gcc", arch)
    assert tc.cc == f"{triplet}-gcc-12" and tc.ld == f"{triplet}-ld"
    assert tc.make_vars() == [f"CROSS_COMPILE={triplet}-", f"CC={triplet}-gcc-12"]
    assert tc.packages == [f"binutils-{triplet}", f"gcc-12-{triplet}"]


@pytest.mark.parametrize("arch", ["i386", "um"])
def test_host_gcc_builds_i386_and_um(arch):
    tc = toolchain("gcc", arch)
    assert tc.cc == "gcc" and tc.make_vars() == []


@pytest.mark.parametrize("arch", ["arm64", "riscv", "loongarch", "hexagon", "s390"])
def test_clang_is_llvm_1_with_arch(arch):
    tc = toolchain("llvm-19", arch)
    assert tc.cc == "clang-19" and tc.make_vars() == ["LLVM=-19"] and tc.arch == arch
    req = BuildRequest(tree=".", config=".config", arch=arch, toolchain="llvm-19")
    assert make_flags(req, tc)[:2] == [f"ARCH={arch}", "LLVM=-19"]


@pytest.mark.parametrize("arch", ["csky", "xtensa", "microblaze", "nios2", "openrisc"])
@pytest.mark.parametrize("tc", ["gcc", "llvm-19"])
def test_an_arch_nothing_here_builds_is_refused_clearly(arch, tc):
    with pytest.raises(UsageError) as e:
        toolchain(tc, arch)
    assert str(e.value).startswith(f"cannot build {arch} here: no gcc-{arch} in Debian, "
                                   "not an LLVM target")
    assert e.value.exit_code == 2


def test_gcc_for_an_llvm_only_arch_points_to_clang():
    with pytest.raises(UsageError, match="cannot build loongarch with gcc here") as e:
        toolchain("gcc", "loongarch")
    assert "--toolchain llvm-19" in str(e.value)


def test_clang_for_a_gcc_only_arch_points_to_gcc():
    with pytest.raises(UsageError, match="m68k with clang: not an LLVM target") as e:
        toolchain("llvm", "m68k")
    assert "gcc-12-m68k-linux-gnu" in str(e.value)


def test_unknown_arch():
    with pytest.raises(UsageError, match="unknown arch 'aarch64'"):
        find_arch("aarch64")


def test_every_report_prefix_maps_to_a_known_arch():
    assert set(PREFIX_ARCH.values()) <= set(ARCHES)


def test_cross_make_line_and_key():
    tc = toolchain("gcc", "arm64")
    req = BuildRequest(tree="/src", config="/c", arch="arm64", w1=True, make_flags=["CF=-x"])
    flags = make_flags(req, tc)
    assert flags == ["ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-",
                     "CC=aarch64-linux-gnu-gcc-12", "W=1", "CF=-x"]
    argv = make_argv(req, tc, "/obj", flags, ["arch/arm64/kernel/x.o"])
    assert "CC=ccache aarch64-linux-gnu-gcc-12" in argv
    assert not [a for a in argv if a.startswith("CC=") and "ccache" not in a]
    req.ccache = False
    assert "CC=aarch64-linux-gnu-gcc-12" in make_argv(req, tc, "/obj", flags, [])
    x86 = KeyParts("kernel", "h", "", "C", {}, "x86_64", ["W=1"])
    arm = KeyParts("kernel", "h", "", "C", {}, "arm64", flags)
    assert x86.digest() != arm.digest()


def test_x86_make_line_is_as_before():
    req = BuildRequest(tree="/src", config="/c", w1=True)
    assert make_flags(req, toolchain("gcc")) == ["ARCH=x86_64", "W=1"]


def test_make_flag_arch_must_be_the_jobs():
    assert parse_make_flags(["ARCH=arm64", "W=1"], None, "arm64").flags == ("W=1",)
    assert parse_make_flags(["ARCH=x86"], None, "x86_64").flags == ()
    with pytest.raises(UsageError, match="choose --arch arm64"):
        parse_make_flags(["ARCH=arm64"], None, "x86_64")
    with pytest.raises(UsageError, match="choose --arch"):
        parse_make_flags(["CROSS_COMPILE=aarch64-linux-gnu-"], None, "arm64")


def test_package_for_cross_tools():
    assert package_for("aarch64-linux-gnu-gcc-12") == "gcc-12-aarch64-linux-gnu"
    assert package_for("m68k-linux-gnu-ld") == "binutils-m68k-linux-gnu"
    assert package_for("gcc") == "gcc" and package_for("clang-19") == "clang-19"


def _which(installed: set):
    return lambda tool: f"/usr/bin/{tool}" if tool in installed else None


def test_installed_compiler_runs_nothing():
    runner = FakeRunner()
    tc = toolchain("gcc", "arm64")
    got = ensure_compiler(tc, runner, which=_which({tc.cc, tc.ld}), installable=True)
    assert got == [] and runner.calls == []


def test_missing_cross_compiler_without_root_names_the_package():
    tc = toolchain("gcc", "m68k")
    with pytest.raises(UsageError) as e:
        ensure_compiler(tc, FakeRunner(), which=_which(set()), installable=False)
    assert "m68k-linux-gnu-gcc-12 is not installed" in str(e.value)
    assert "apt-get install binutils-m68k-linux-gnu gcc-12-m68k-linux-gnu" in str(e.value)
    assert e.value.exit_code == 2


def test_missing_cross_compiler_as_root_is_installed_and_the_command_printed():
    tc = toolchain("gcc", "riscv")
    installed: set = set()
    runner = FakeRunner().on("apt-get install", effect=lambda argv: installed.update(
        {tc.cc, tc.ld}))
    said = []
    got = ensure_compiler(tc, runner, which=lambda t: t if t in installed else None,
                          installable=True, echo=said.append)
    assert got == ["binutils-riscv64-linux-gnu", "gcc-12-riscv64-linux-gnu"]
    assert runner.calls[0]["argv"] == ["apt-get", "install", "-y", "-qq",
                                       "--no-install-recommends",
                                       "binutils-riscv64-linux-gnu", "gcc-12-riscv64-linux-gnu"]
    assert "apt-get install -y" in said[0]
    # idempotent: a second call finds it and runs nothing
    assert ensure_compiler(tc, runner, which=lambda t: t if t in installed else None,
                           installable=True) == []
    assert len(runner.calls) == 1


def test_stale_package_lists_get_one_update():
    tc = toolchain("gcc", "arm")
    installed: set = set()
    state = {"updated": False}
    runner = FakeRunner()
    runner.on(lambda a: a[:2] == ["apt-get", "update"],
              effect=lambda a: state.update(updated=True))
    runner.on(lambda a: a[:2] == ["apt-get", "install"] and state["updated"],
              effect=lambda a: installed.update({tc.cc, tc.ld}))
    runner.on(lambda a: a[:2] == ["apt-get", "install"], returncode=100,
              stderr="E: Unable to locate package gcc-12-arm-linux-gnueabi")
    ensure_compiler(tc, runner, which=lambda t: t if t in installed else None,
                    installable=True, echo=lambda s: None)
    assert [c["argv"][1] for c in runner.calls] == ["install", "update", "install"]


def test_failed_install_names_the_package():
    tc = toolchain("gcc", "sh")
    runner = FakeRunner().on("apt-get", returncode=100, stderr="E: dpkg was interrupted")
    with pytest.raises(UsageError, match="apt-get install failed: E: dpkg was interrupted") as e:
        ensure_compiler(tc, runner, which=_which(set()), installable=True, echo=lambda s: None)
    assert "gcc-12-sh4-linux-gnu" in str(e.value)


def test_a_missing_host_clang_is_never_installed_here():
    runner = FakeRunner()
    with pytest.raises(UsageError, match="clang-18 is not installed"):
        ensure_compiler(toolchain("llvm-18"), runner, which=_which(set()), installable=True)
    assert runner.calls == []
