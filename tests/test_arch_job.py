"""--arch through the check phase and into the config and build requests."""
import shutil
from pathlib import Path

import pytest

import kbuild.toolchain as toolchain_mod
from configs.stage import ConfigRequest, make_argv as config_argv
from pipeline.check import CheckFailed, check_job
from pipeline.job import JobSpec, spec_from_entry
from common.yamlfile import load_yaml


@pytest.fixture
def no_root(monkeypatch):
    monkeypatch.setattr(toolchain_mod, "can_install", lambda: False)


def fake_which(monkeypatch, installed):
    real = shutil.which
    monkeypatch.setattr(shutil, "which", lambda t, *a, **k: (
        f"/usr/bin/{t}" if t in installed else None) if "linux-gnu" in t else real(t, *a, **k))


def test_arch_nothing_builds_fails_the_check(no_root):
    with pytest.raises(CheckFailed) as e:
        check_job(JobSpec(profile="small", arch="csky"))
    assert e.value.exit_code == 2
    assert "cannot build csky here: no gcc-csky in Debian, not an LLVM target" in str(e.value)


def test_missing_cross_gcc_names_the_package(no_root, monkeypatch):
    fake_which(monkeypatch, set())
    with pytest.raises(CheckFailed) as e:
        check_job(JobSpec(profile="small", arch="m68k"))
    assert "m68k-linux-gnu-gcc-12 is not installed" in str(e.value)
    assert "apt-get install binutils-m68k-linux-gnu gcc-12-m68k-linux-gnu" in str(e.value)


def test_cross_plan(no_root, monkeypatch):
    fake_which(monkeypatch, {"aarch64-linux-gnu-gcc-12", "aarch64-linux-gnu-ld"})
    plan = check_job(JobSpec(profile="small", arch="arm64", make_flags=["W=1", "ARCH=arm64"]))
    assert plan.arch == "arm64" and plan.toolchain.cross == "aarch64-linux-gnu-"
    assert plan.make.flags == ("W=1",) and plan.make.w1
    assert plan.spec.job_parts()[-1] == "small-gcc-arm64-default"
    assert "small:gcc-arm64:" in plan.spec.label()


def test_x86_job_names_are_as_before():
    spec = JobSpec(profile="small")
    assert spec.job_parts()[-1] == "small-gcc-default"
    assert spec.label() == "base:small:gcc:default"


def test_a_wrong_make_flag_arch_is_an_input_error(no_root):
    with pytest.raises(CheckFailed, match="make flag 'ARCH=arm64': the job builds ARCH=x86_64"):
        check_job(JobSpec(profile="small", make_flags=["ARCH=arm64"]))


def test_matrix_key_arch(tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text("jobs:\n  - base: true\n    arch: riscv\n")
    raw = load_yaml(f)
    spec = spec_from_entry(raw["jobs"][0], {}, str(f))
    assert spec.arch == "riscv"


def test_config_make_line_carries_the_cross_compiler():
    req = ConfigRequest(tree=Path("/src"), build_dir=Path("/b"), results_dir=Path("/r"),
                        arch="arm64", cross=["CROSS_COMPILE=aarch64-linux-gnu-",
                                             "CC=aarch64-linux-gnu-gcc-12"], nice=False)
    assert config_argv(req, "olddefconfig") == [
        "make", "-C", "/src", "O=/b", "ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-",
        "CC=aarch64-linux-gnu-gcc-12", "olddefconfig"]
