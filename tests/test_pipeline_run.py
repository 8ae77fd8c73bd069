import io
import json

import pytest

from common.errors import BootError, ConfigError
from common.progress import Progress
from common.proc import FakeRunner
from pipeline.check import JobPlan
from pipeline.context import StageReport
from pipeline.job import JobSpec
from pipeline.run import run_job
from results.model import ParsedLog, Status, TestResult
from results.store import load_job



def progress():
    return Progress(stream=io.StringIO())


def ok_stage(ctx):
    return StageReport("fine")


def cached_stage(ctx):
    return StageReport(cached=True, data={"key": "abc"})


def make_tests_stage(statuses):
    def fn(ctx):
        tests = [TestResult(n, Status(s)) for n, s in statuses.items()]
        ctx.store.add_suite("smoke", ParsedLog("test_progs", tests))
        return StageReport()
    return fn


def test_all_stages_ok_and_tests_pass(tmp_path):
    spec = JobSpec(series="s", rev="v1", profile="small", suites=["smoke"])
    out = run_job(JobPlan(spec), [("apply", ok_stage), ("build", cached_stage),
                         ("test", make_tests_stage({"a": "pass"}))],
                  FakeRunner(), progress(), tmp_path, run_id="r1")
    assert out.exit_code == 0
    job = load_job(out.path)
    assert [(s.name, s.status) for s in job.stages] == [("apply", "ok"), ("build", "cached"),
                                                       ("test", "ok")]
    assert job.stages[1].data == {"key": "abc"}
    assert out.path == tmp_path / "r1" / "s" / "v1" / "small-gcc-smoke"
    for f in ("manifest.json", "summary.json", "reproduce.sh", "results.tap", "junit.xml",
              "report.html"):
        assert (out.path / f).exists(), f
    assert "ok 1 smoke" in (out.path / "results.tap").read_text()


def test_failed_stage_skips_rest_with_its_exit_code(tmp_path):
    def bad(ctx):
        raise ConfigError("CONFIG_BPF_LSM dropped: depends on SECURITY [n]")
    out = run_job(JobPlan(JobSpec()), [("apply", ok_stage), ("config", bad), ("build", ok_stage)],
                  FakeRunner(), progress(), tmp_path, run_id="r")
    assert out.exit_code == 4
    job = load_job(out.path)
    st = {s.name: s for s in job.stages}
    assert st["config"].status == "failed" and "BPF_LSM" in st["config"].detail
    assert st["build"].status == "skipped" and st["boot"].status == "skipped"


def test_failing_tests_exit_1(tmp_path):
    out = run_job(JobPlan(JobSpec()), [("test", make_tests_stage({"a": "pass", "b": "fail"}))],
                  FakeRunner(), progress(), tmp_path, run_id="r")
    assert out.exit_code == 1


def test_boot_failure_exit_6_and_manifest_records_it(tmp_path):
    def boot(ctx):
        raise BootError("no SSH within 60s")
    out = run_job(JobPlan(JobSpec()), [("boot", boot)], FakeRunner(), progress(), tmp_path, run_id="r")
    assert out.exit_code == 6
    m = json.loads((out.path / "manifest.json").read_text())
    assert m["exit_code"] == 6 and m["job"]["tree"] == "debian-6.12"


def test_interrupt_leaves_incomplete_partial_results(tmp_path):
    def interrupted(ctx):
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        run_job(JobPlan(JobSpec()), [("apply", ok_stage), ("test", interrupted)], FakeRunner(),
                progress(), tmp_path, run_id="r")
    job = load_job(next(tmp_path.rglob("summary.json")).parent)
    assert job.state == "incomplete" and job.stages[0].status == "ok"


def test_teardown_registered_on_the_stack_runs(tmp_path):
    torn = []

    def boot(ctx):
        ctx.stack.callback(torn.append, "vm down")
        return StageReport()

    def test(ctx):
        raise BootError("guest died")
    run_job(JobPlan(JobSpec()), [("boot", boot), ("test", test)], FakeRunner(), progress(), tmp_path,
            run_id="r")
    assert torn == ["vm down"]


def test_reproducer_runs_the_same_job(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", "/srv/kh cache")
    spec = JobSpec(series="path-iterator", rev="v5-6.12", suites=["path-iterator"],
                   make_flags=["W=1"])
    out = run_job(JobPlan(spec), [("apply", ok_stage)], FakeRunner(), progress(), tmp_path, run_id="r")
    text = (out.path / "reproduce.sh").read_text()
    assert "./harness.py run path-iterator@v5-6.12 --suite path-iterator --make-flag W=1" \
        in text
    assert (out.path / "reproduce.sh").stat().st_mode & 0o111
    assert 'exec "$PY" ./harness.py' in text and "PY=.venv/bin/python" in text
    assert "export HARNESS_CACHE='/srv/kh cache'" in text


def test_not_run_is_neither_pass_nor_failure(tmp_path):
    from common.errors import NotRun

    def no_patches(ctx):
        raise NotRun("NOT RUN: no patches for debian-6.12 yet")
    out = run_job(JobPlan(JobSpec(series="s", rev="v1")), [("apply", no_patches), ("build", ok_stage)],
                  FakeRunner(), progress(), tmp_path, run_id="r")
    job = load_job(out.path)
    assert out.exit_code == 0
    assert [(s.name, s.status) for s in job.stages][:2] == [("apply", "not-run"),
                                                           ("config", "skipped")]
    assert job.counts() == {}


def test_stage_logs_hold_commands_and_outcome(tmp_path):
    from common.proc import Runner

    def shell(ctx):
        ctx.runner.run(["true"])
        return StageReport("ran true")

    def bad(ctx):
        ctx.runner.run(["echo", "x"])
        raise ConfigError("CONFIG_X dropped")
    out = run_job(JobPlan(JobSpec()), [("apply", shell), ("config", bad)], Runner(), progress(),
                  tmp_path, run_id="r")
    apply_log = (out.path / "logs" / "apply.log").read_text()
    assert apply_log.startswith("stage apply: ok") and "+ true" in apply_log
    config_log = (out.path / "logs" / "config.log").read_text()
    assert "+ echo x" in config_log and "CONFIG_X dropped" in config_log
    assert "+ true" not in config_log


def test_a_targets_only_build_is_not_followed_by_boot_or_tests(tmp_path):
    from types import SimpleNamespace

    from pipeline.stages import stage_boot, stage_selftests_build

    def build(ctx):
        ctx.build = SimpleNamespace(bzimage=None)
        return StageReport("fs/namei.o")
    spec = JobSpec(series="path-iterator", rev="v5-6.12", targets=["fs/namei.o"])
    out = run_job(JobPlan(spec), [("build", build), ("selftests-build", stage_selftests_build),
                         ("boot", stage_boot)], FakeRunner(), progress(), tmp_path, run_id="t")
    job = out.summary
    assert out.exit_code == 0
    assert [(s.name, s.status) for s in job.stages][:2] == [("build", "ok"),
                                                             ("selftests-build", "not-run")]
    assert "fs/namei.o" in job.stages[1].detail


def test_vm_gets_the_suites_cmdline_then_the_revisions(tmp_path):
    from types import SimpleNamespace

    from pipeline.context import JobContext
    from pipeline.stages import vm_request
    from selftests.suite import load_suite

    store = SimpleNamespace(path=tmp_path)
    suites = (load_suite("landlock"), load_suite("smoke"))
    spec = JobSpec(series="path-iterator", rev="v5.1-6.12")

    def ctx_for(revision):
        ctx = JobContext(plan=JobPlan(spec, revision=revision, suites=suites), store=store,
                         runner=FakeRunner(), progress=progress())
        ctx.build = SimpleNamespace(bzimage=tmp_path / "bzImage")
        return ctx
    req = vm_request(ctx_for(SimpleNamespace(cmdline=["lsm=capability,bpf"])))
    assert req.append == ["lsm=lockdown,capability,landlock,bpf", "lsm=capability,bpf"]
    assert vm_request(ctx_for(None)).append == ["lsm=lockdown,capability,landlock,bpf"]


def test_the_vm_gets_a_hard_timeout_from_the_suite_budgets(tmp_path):
    from types import SimpleNamespace

    from pipeline.context import JobContext
    from pipeline.stages import vm_request
    from selftests.suite import load_suite

    suites = (load_suite("landlock"), load_suite("smoke"))
    ctx = JobContext(plan=JobPlan(JobSpec(), suites=suites),
                     store=SimpleNamespace(path=tmp_path), runner=FakeRunner(),
                     progress=progress())
    ctx.build = SimpleNamespace(bzimage=tmp_path / "bzImage")
    req = vm_request(ctx)
    budget = sum(s.suite_timeout for s in suites) + req.boot_timeout
    assert budget < req.run_timeout < budget + 3600


def test_a_vm_killed_by_its_timeout_fails_the_test_stage_with_exit_7(tmp_path):
    from types import SimpleNamespace

    from pipeline.stages import stage_test
    from vm.boot import VMRunTimeout

    class Expired:
        expired = True

        def raise_if_expired(self):
            raise VMRunTimeout(60.0, tmp_path / "console.log")

    def boot(ctx):
        ctx.vm = Expired()
        ctx.selftests = ctx.kselftest = None
        return StageReport()
    from selftests.suite import load_suite
    plan = JobPlan(JobSpec(), suites=(load_suite("smoke"),))
    out = run_job(plan, [("boot", boot), ("test", stage_test)], FakeRunner(), progress(),
                  tmp_path, run_id="r")
    test = {s.name: s for s in out.summary.stages}["test"]
    assert out.exit_code == 7 and test.status == "failed"
    assert "outlived its run timeout" in test.detail


def test_the_kselftest_build_is_cached_by_key_and_the_stage_line_says_so(tmp_path, monkeypatch):
    """Landlock's kselftests are built by the first job and taken from the cache by
    the next one of the same tree state (the stage is `cached`); --rebuild builds them."""
    from types import SimpleNamespace

    from pipeline.stages import stage_selftests_build
    from selftests.suite import load_suite

    from test_kbuild_fakes import make_tree
    from test_kbuild_selftests import kselftest_runner, make_calls
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    tree = make_tree(tmp_path)

    def build(ctx):
        ctx.worktree = tree
        ctx.build = SimpleNamespace(bzimage=tmp_path / "bzImage")
        return StageReport("built", cached=True)

    def job(run_id, rebuild=False):
        fr, out = kselftest_runner(), io.StringIO()
        plan = JobPlan(JobSpec(rebuild=rebuild), suites=(load_suite("landlock"),))
        res = run_job(plan, [("build", build), ("selftests-build", stage_selftests_build)],
                      fr, Progress(stream=out), tmp_path / "runs", run_id=run_id)
        stage = {s.name: s for s in res.summary.stages}["selftests-build"]
        return stage, make_calls(fr), out.getvalue()
    first, calls, _ = job("r1")
    assert first.status == "ok" and first.detail.startswith("kselftest landlock in ")
    assert [a for a in calls[1] if a.startswith("TARGETS=")] == ["TARGETS=landlock"]
    again, calls, text = job("r2")
    assert again.status == "cached" and again.detail == "kselftest landlock cached"
    assert calls == [] and "[selftests-build] cached" in text
    forced, calls, _ = job("r3", rebuild=True)
    assert forced.status == "ok" and len(calls) == 2
