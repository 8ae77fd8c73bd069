import pytest

from common.errors import UsageError
from common.stage import StageResult
from bisection.criteria import judge, parse_criterion
from results.model import ParsedLog, Splat, Status, TestResult
from results.store import JobSummary, SuiteRecord


def job(stages=None, tests=None, splats=()):
    stages = stages or {"apply": "ok", "config": "ok", "build": "ok", "selftests-build": "ok",
                        "boot": "ok", "test": "ok"}
    suites = []
    if tests:
        suites = [SuiteRecord("path-iterator", ParsedLog("test_progs", [
            TestResult("path_iter", Status.PASS,
                       subtests=[TestResult(n, Status(s)) for n, s in tests.items()])]))]
    return JobSummary("j", "complete", 0, [StageResult(n, s) for n, s in stages.items()],
                      suites, list(splats))


def test_test_criterion():
    c = parse_criterion("test:path_iter/open_code")
    assert judge(c, job(tests={"open_code": "fail"}))[0] == "bad"
    assert judge(c, job(tests={"open_code": "pass"}))[0] == "good"
    assert judge(c, job(tests={"for_each": "pass"}))[0] == "skip"


def test_unrelated_stage_failure_is_skip():
    c = parse_criterion("test:open_code")
    stages = {"apply": "ok", "config": "ok", "build": "failed"}
    verdict, why = judge(c, job(stages=stages))
    assert verdict == "skip" and "build failed" in why


def test_build_and_boot_criteria():
    assert judge(parse_criterion("build"), job(stages={"apply": "ok", "build": "failed"}))[0] == "bad"
    assert judge(parse_criterion("boot"), job(stages={"apply": "ok", "build": "ok",
                                                       "boot": "failed"}))[0] == "bad"
    panic = Splat("panic", "Kernel panic - not syncing: sysrq triggered crash", "fp")
    assert judge(parse_criterion("boot"), job(splats=[panic]))[0] == "bad"
    assert judge(parse_criterion("boot"), job())[0] == "good"


def test_warning_and_splat_criteria():
    c = parse_criterion(r"warning:fs/namei\.c:.*not described")
    w = ["fs/namei.c:2072: warning: Function parameter or struct member 'path' not described"]
    assert judge(c, job(), w)[0] == "bad"
    assert judge(c, job(), [])[0] == "good"
    s = Splat("kasan", "BUG: KASAN: slab-use-after-free in bpf_iter_path_next", "x")
    assert judge(parse_criterion("splat:KASAN"), job(splats=[s]))[0] == "bad"


@pytest.mark.parametrize("bad", ["fails", "test", "warning:(", "test:"])
def test_bad_criteria(bad):
    with pytest.raises(UsageError):
        parse_criterion(bad)


def test_warning_criterion_sees_a_warning_the_step_did_not_recompile(tmp_path, monkeypatch):
    """Patch 2 adds a warning in a.o, patch 3 touches only b.o: the step at patch 3
    recompiles b.o alone, prints no warning, and is still bad (the build dir's
    warning record keeps a.o's)."""
    from bisection.criteria import warnings_of
    from kbuild import BuildRequest, build_kernel
    from test_kbuild_fakes import CONFIG, make_tree, runner
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    tree, config = make_tree(tmp_path), tmp_path / "final.config"
    config.write_text(CONFIG)
    warn = "  CC      a.o\n../a.c:3:7: warning: unused variable 'x' [-Wunused-variable]\n"
    steps = [("2" * 40, warn), ("3" * 40, "  CC      b.o\n")]
    for n, (head, out) in enumerate(steps):
        build_kernel(BuildRequest(tree=tree, config=config, jobs=2,
                                  results_dir=tmp_path / f"step{n}/build"),
                     runner(head=head, make_out=out))
    step = job()
    step.path = tmp_path / "step1"
    assert warnings_of(step) == ["a.c:3:7: warning: unused variable 'x' [-Wunused-variable]"]
    assert judge(parse_criterion("warning:unused variable 'x'"), step,
                 warnings_of(step))[0] == "bad"
