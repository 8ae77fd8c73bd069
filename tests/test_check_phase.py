"""The check phase: every input of a job is loaded and checked before any stage,
through the commands a user types (`run --check`, `matrix --check`)."""
import json
import subprocess
import sys
import time

import pytest

from common.errors import UsageError
from common.fsutil import REPO_ROOT
from kbuild.build import BuildRequest, make_flags
from kbuild.makeflags import parse_make_flags
from kbuild.toolchain import toolchain
from pipeline.check import CheckFailed, check_job
from pipeline.job import JobSpec


def harness(*argv, env=None):
    return subprocess.run([sys.executable, str(REPO_ROOT / "harness.py"), *argv],
                          capture_output=True, text=True, timeout=60, env=env)


@pytest.mark.parametrize("argv,needle", [
    (["--suite", "nosuch"], "selftests/suites/nosuch.yaml: no such suite"),
    (["--fragment", "nosuch"], "unknown fragment 'nosuch'"),
    (["--fragment", "configs/x.config"], "fragment file 'configs/x.config' does not exist"),
    (["--toolchain", "clang"], "unknown toolchain 'clang'"),
    (["--toolchain", "llvm-18"], "clang-18 is not installed"),
    (["--make-flag", "O=/tmp/x"], "the harness chooses the build dir"),
    (["--make-flag", "LLVM=1"], "choose --toolchain llvm"),
    (["--make-flag", "fs/namei.o"], "is not VAR=value"),
    (["--upto", "9"], "has 2 patches"),
    (["--profile", "nosuch"], "unknown profile 'nosuch'"),
    (["--tree", "nosuch"], "unknown tree 'nosuch'"),
])
def test_run_check_rejects_bad_input_fast(argv, needle, tmp_path):
    t0 = time.monotonic()
    res = harness("run", "kharness-fixture@v1", "--profile", "small", *argv, "--check",
                  "--results", str(tmp_path))
    took = time.monotonic() - t0
    assert res.returncode == 2, res.stderr
    assert needle in res.stderr
    assert not any(tmp_path.iterdir())            # nothing was started, nothing written
    assert took < 10                              # a python start-up; the check is < 1 s


def test_every_error_at_once():
    with pytest.raises(CheckFailed) as e:
        check_job(JobSpec(series="kharness-fixture", rev="v1", profile="nosuch",
                          fragments=["nosuch"], toolchain="clang", suites=["nosuch"]))
    assert len(e.value.errors) == 4


def test_default_matrix_checks_in_well_under_a_second():
    from pipeline.check import check_jobs
    from pipeline.matrix import load_matrix
    t0 = time.monotonic()
    plans = check_jobs(load_matrix(REPO_ROOT / "pipeline/matrices/default.yaml"))
    assert time.monotonic() - t0 < 1.0
    assert all(p.spec.series is None or p.spec.rev for p in plans)


def test_matrix_check_names_the_job_entry(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("jobs:\n  - base: true\n  - series: kharness-fixture@v1\n"
                 "    suites: [smoke, nosuch]\n")
    res = harness("matrix", str(m), "--check")
    assert res.returncode == 2
    assert f"{m}:3: job kharness-fixture@v1" in res.stderr and "nosuch" in res.stderr


def test_series_tests_must_be_run_by_a_suite(tmp_path, monkeypatch):
    """The manifest decides what a series runs: a test it names that no suite of
    the job runs is an input error at the manifest's line."""
    import selftests.suite as suite_mod
    (tmp_path / "smoke.yaml").write_text((suite_mod.SUITES_DIR / "smoke.yaml").read_text())
    monkeypatch.setattr(suite_mod, "SUITES_DIR", tmp_path)   # no kharness-fixture.yaml
    with pytest.raises(CheckFailed) as e:
        check_job(JobSpec(series="kharness-fixture", rev="v1", profile="small"))
    assert "series.yaml:" in str(e.value) and "kharness:kernel_facts.sh" in str(e.value)


def test_run_without_revision_resolves_it_before_naming_the_results_dir(tmp_path):
    from common.progress import Progress
    from common.proc import FakeRunner
    from pipeline.context import StageReport
    from pipeline.run import run_job
    import io
    out = run_job(JobSpec(series="kharness-fixture", profile="small"),
                  [("apply", lambda ctx: StageReport())], FakeRunner(),
                  Progress(stream=io.StringIO()), tmp_path, run_id="r")
    latest = check_job(JobSpec(series="kharness-fixture", profile="small")).spec.rev
    assert latest and latest != "latest"
    assert out.path.parts[-3:-1] == ("kharness-fixture", latest)
    manifest = json.loads((out.path / "manifest.json").read_text())
    assert manifest["job"]["rev"] == latest


@pytest.mark.parametrize("flags,passed,w1,sparse", [
    (["W=1"], ["W=1"], True, False),
    (["W=12"], ["W=12"], True, False),
    (["W=2"], ["W=2"], False, False),
    (["C=1"], ["C=1"], False, True),
    (["C=2"], ["C=2"], False, True),
    (["KCFLAGS=-Werror", "CF=-D__CHECK_ENDIAN__"], ["KCFLAGS=-Werror", "CF=-D__CHECK_ENDIAN__"],
     False, False),
    (["ARCH=x86_64"], [], False, False),
])
def test_make_flags_pass_through_or_are_interpreted(flags, passed, w1, sparse):
    mf = parse_make_flags(flags, None)
    assert (list(mf.flags), mf.w1, mf.sparse) == (passed, w1, sparse)
    req = BuildRequest(tree=".", config=".config", w1=mf.w1, sparse=mf.sparse,
                       make_flags=list(mf.flags))
    argv = make_flags(req, toolchain("gcc"))
    for f in passed:
        assert argv.count(f) == 1
    assert ("W=1" in argv) == (flags == ["W=1"])


def test_llvm_flag_must_agree_with_the_toolchain():
    assert parse_make_flags(["LLVM=-19"], "-19").flags == ()
    with pytest.raises(UsageError, match="toolchain is gcc"):
        parse_make_flags(["LLVM=1"], None)


@pytest.mark.parametrize("name,llvm", [("gcc", None), ("llvm", "1"), ("llvm-19", "-19"),
                                        ("llvm-18", "-18")])
def test_one_toolchain_mapping_for_config_and_build(name, llvm):
    """The config stage's LLVM= comes from the same Toolchain the build uses."""
    assert toolchain(name).llvm == llvm
    assert (f"LLVM={llvm}" in toolchain(name).make_vars()) == (llvm is not None)


def test_profile_allow_drop_is_read_by_name(tmp_path):
    from configs.profiles import load_profile
    p = tmp_path / "p.yaml"
    p.write_text("base: tinyconfig\nallow_drop: [CONFIG_FOO]\n")
    prof = load_profile(str(p))
    assert prof.allow_drop == ["FOO"] and prof.path == str(p)


def test_the_manifest_kconfig_symbols_must_be_y(tmp_path):
    """The series manifest's kconfig: list is checked against the final .config."""
    from types import SimpleNamespace

    from common.errors import ConfigError
    from pipeline.stages import _check_series_kconfig
    plan = check_job(JobSpec(series="path-iterator", rev="v5.1-6.12"))
    assert plan.revision.kconfig == ["CONFIG_BPF_LSM"]
    ctx = SimpleNamespace(plan=plan, spec=plan.spec)
    cfg = tmp_path / ".config"
    cfg.write_text("CONFIG_BPF=y\n# CONFIG_BPF_LSM is not set\n")
    with pytest.raises(ConfigError, match="CONFIG_BPF_LSM=y"):
        _check_series_kconfig(ctx, cfg)
    cfg.write_text("CONFIG_BPF=y\nCONFIG_BPF_LSM=y\n")
    _check_series_kconfig(ctx, cfg)


def test_a_robot_report_job_says_its_series_config_is_left_out():
    from pipeline.reproduce import harness_argv
    from repro.plan import Plan
    from repro.run import job_spec
    plan = Plan("path-iterator", "v5-6.12", None, None, None, "/tmp/config", ["W=1"],
                ["fs/namei.o"], "gcc")
    argv = harness_argv(job_spec(plan))
    assert "--no-series-config" in argv and "--fragment" in argv


@pytest.mark.parametrize("spec,suites", [
    ("fanotify-bpf@v1-6.12", "suites [fanotify-bpf, smoke]"),     # the series' own suite
    ("fanotify-bpf@v2-6.12", "suites [fanotify-bpf, smoke]"),
    ("fanotify-bpf@v3-6.12", "suites [fanotify-filter, smoke]"),  # the revision's suites:
    ("fanotify-bpf@v3.1-6.12", "suites [fanotify-filter, smoke]"),
    ("fanotify-bpf", "suites [fanotify-filter, smoke]"),          # latest: v3.1-6.12
])
def test_default_suites_come_from_the_revision_then_the_series(spec, suites, tmp_path):
    res = harness("run", spec, "--check", "--results", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert suites in res.stdout


def test_a_revision_suite_that_does_not_exist_is_named(tmp_path):
    d = tmp_path / "series" / "demo"
    d.mkdir(parents=True)
    (d / "series.yaml").write_text(
        "name: demo\ntitle: demo\nauthors: [A <a@b.c>]\nlist: l@b.c\n"
        "revisions:\n  - version: v1\n    source: {dir: p}\n    base: {tree: debian-6.12}\n"
        "    suites: [nosuch]\n")
    (d / "p").mkdir()
    (d / "p" / "0001-x.patch").write_text(
        "From: A <a@b.c>\nSubject: [PATCH] x\n\n---\n a | 1 +\n\n"
        "diff --git a/a b/a\nnew file mode 100644\n--- /dev/null\n+++ b/a\n@@ -0,0 +1 @@\n+x\n")
    import os
    env = {**os.environ, "HARNESS_CACHE": str(tmp_path)}
    res = harness("run", "demo@v1", "--check", "--results", str(tmp_path / "r"), env=env)
    assert res.returncode == 2
    assert "selftests/suites/nosuch.yaml: no such suite" in res.stderr


def test_a_python_without_the_vm_modules_is_refused_before_the_build(tmp_path, monkeypatch,
                                                                       capsys):
    """Run with the system's python3 (no paramiko), a job built its kernel for 27
    minutes and then failed in boot. The check names what is missing first."""
    import harness
    import pipeline.check
    monkeypatch.setattr(pipeline.check, "VM_MODULES", ("paramiko", "kharness_no_such_module"))
    code = harness.main(["run", "kharness-fixture@v1", "--profile", "small",
                         "--target", "kernel/time/time.o", "--results", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "the boot stage needs kharness_no_such_module" in err
    assert ".venv/bin/python harness.py" in err
    assert not list(tmp_path.rglob("summary.json"))     # no stage ran
