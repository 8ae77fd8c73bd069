import io
import json
import xml.etree.ElementTree as ET

from common.errors import BuildError, NotRun
from common.progress import Progress
from common.proc import FakeRunner
from pipeline.check import JobPlan
from pipeline.context import StageReport
from pipeline.job import JobSpec
from pipeline.multi import merge_runs, run_matrix
from results.model import ParsedLog, Status, TestResult


def stages_for(outcomes):
    """Fake stages: per series, raise or record tests."""
    def apply(ctx):
        what = outcomes.get(ctx.spec.series or "base")
        if what == "no-patches":
            raise NotRun("NOT RUN: no patches for debian-6.12 yet")
        return StageReport()

    def build(ctx):
        if outcomes.get(ctx.spec.series or "base") == "build-fails":
            raise BuildError("fs/namei.c:12: error: boom")
        return StageReport(data={"new_warnings": 2})

    def test(ctx):
        st = outcomes.get(ctx.spec.series or "base", "pass")
        tests = [TestResult("keep", Status.PASS), TestResult("x", Status(st))]
        ctx.store.add_suite("smoke", ParsedLog("test_progs", tests))
        return StageReport()
    return [("apply", apply), ("build", build), ("boot", lambda c: StageReport()),
            ("test", test)]


def specs():
    return [JobPlan(s) for s in (JobSpec(name="baseline"), JobSpec(series="a", rev="v1"),
                                 JobSpec(series="b", rev="v1"), JobSpec(series="c", rev="v1"),
                                 JobSpec(series="d", rev="v1"))]


def test_matrix_table_compare_and_combined_outputs(tmp_path):
    out = io.StringIO()
    outcomes = {"a": "fail", "b": "no-patches", "c": "build-fails", "d": "pass"}
    code = run_matrix(specs(), tmp_path, "m1", FakeRunner(), Progress(stream=out), jobs=2,
                      stages=stages_for(outcomes))
    text = out.getvalue()
    assert code == 5                      # a build failure outranks test failures
    rows = {line.split()[0]: line for line in text.splitlines() if line.startswith(("base", "a/", "b/", "c/", "d/"))}
    assert "NOT RUN" in rows["b/v1/bpf-gcc-default"] and "no patches" in rows["b/v1/bpf-gcc-default"]
    assert "build FAILED" in rows["c/v1/bpf-gcc-default"]
    assert "new failures (1):" in text and "smoke/x: pass -> fail" in text
    run = tmp_path / "m1"
    data = json.loads((run / "run.json").read_text())
    assert [j["exit_code"] for j in data["jobs"]] == [0, 1, 0, 5, 0]
    suites = ET.parse(run / "junit.xml").getroot().findall("testsuite")
    assert {s.get("name") for s in suites} == {"base/debian-6.12/bpf-gcc-default:smoke",
                                               "a/v1/bpf-gcc-default:smoke",
                                               "d/v1/bpf-gcc-default:smoke"}
    assert "ok 1 base/debian-6.12/bpf-gcc-default" in (run / "results.tap").read_text()
    assert (run / "report.html").exists()


def test_all_passing_matrix_exits_0_and_merge(tmp_path):
    code = run_matrix(specs()[:2], tmp_path, "s1", FakeRunner(), Progress(stream=io.StringIO()),
                      stages=stages_for({}))
    assert code == 0
    code = run_matrix(specs()[3:], tmp_path, "s2", FakeRunner(), Progress(stream=io.StringIO()),
                      stages=stages_for({"c": "fail"}))
    assert code == 1
    assert merge_runs([tmp_path / "s1", tmp_path / "s2"], tmp_path / "merged") == 1
    assert len(json.loads((tmp_path / "merged" / "run.json").read_text())["jobs"]) == 4


def test_each_job_tests_right_after_its_build_and_ctrl_c_keeps_the_table(tmp_path):
    order = []
    base = stages_for({})
    logged = [(name, (lambda fn, n: lambda ctx: (order.append((ctx.spec.series or "base", n)),
                                                  fn(ctx))[1])(fn, name)) for name, fn in base]
    run_matrix(specs()[:2], tmp_path, "o1", FakeRunner(), Progress(stream=io.StringIO()),
               stages=logged)
    assert order == [("base", "apply"), ("base", "build"), ("base", "boot"), ("base", "test"),
                     ("a", "apply"), ("a", "build"), ("a", "boot"), ("a", "test")]

    def interrupt(ctx):
        if ctx.spec.series == "a":
            raise KeyboardInterrupt
        return {}
    stages = [("apply", interrupt)] + base[1:]
    out = io.StringIO()
    try:
        run_matrix(specs(), tmp_path, "o2", FakeRunner(), Progress(stream=out), stages=stages)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("Ctrl-C must propagate")
    text = out.getvalue()
    assert "base/debian-6.12/bpf-gcc-default" in text and "never started" in text
    assert json.loads((tmp_path / "o2" / "run.json").read_text())["jobs"][0]["exit_code"] == 0


def test_matrix_cli_compares_with_the_base_by_default():
    import argparse

    from pipeline import cli
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    assert parser.parse_args(["matrix", "m.yaml"]).compare_base is True
    assert parser.parse_args(["matrix", "m.yaml", "--no-compare-base"]).compare_base is False


def test_long_comparison_lists_are_capped():
    from results.compare import Change, Comparison, format_comparison
    cmp = Comparison("base", "series")
    cmp.new_tests = [Change(f"t{i}", None, "pass") for i in range(30)]
    text = format_comparison(cmp, most=20)
    assert "t19: - -> pass" in text and "t20:" not in text and "... and 10 more" in text
    assert "t29: - -> pass" in format_comparison(cmp)


def test_combined_outputs_carry_parent_failures_and_splats(tmp_path):
    """The matrix's junit.xml and results.tap say what the job's exit code says."""
    from results.model import Splat

    def test(ctx):
        parent = TestResult("iter", Status.FAIL, log=["cleanup failed"],
                            subtests=[TestResult("one", Status.PASS)])
        splat = Splat("lockdep", "possible circular locking", "ab" * 8, test="iter",
                      excerpt=["WARNING: possible circular locking dependency detected"])
        ctx.store.add_suite("smoke", ParsedLog("test_progs", [parent], splats=[splat]))
        return StageReport()
    code = run_matrix([JobPlan(JobSpec(series="a", rev="v1"))], tmp_path, "m",
                      FakeRunner(), Progress(stream=io.StringIO()),
                      stages=[("apply", lambda c: StageReport()), ("test", test)])
    assert code == 1
    root = ET.parse(tmp_path / "m" / "junit.xml").getroot()
    types = sorted(f.get("type") for f in root.iter("failure"))
    assert types == ["fail", "splat"]
    tap = (tmp_path / "m" / "results.tap").read_text()
    assert "not ok" in tap and "splat" in tap


def test_a_finished_job_is_closed_before_the_next_job_builds(tmp_path):
    """Inside a matrix, a job's outputs and final state are written as soon as its
    tests end; the matrix's combined outputs are rewritten then too."""
    seen = {}

    def build(ctx):
        if ctx.spec.series == "b":
            first = next((tmp_path / "m").glob("a/v1/*/summary.json"))
            seen["state"] = json.loads(first.read_text())["state"]
            seen["files"] = {f.name for f in first.parent.iterdir()}
            seen["combined"] = json.loads((tmp_path / "m" / "run.json").read_text())
        return StageReport()

    def test(ctx):
        ctx.store.add_suite("smoke", ParsedLog("test_progs", [TestResult("x", Status.PASS)]))
        return StageReport()
    plans = [JobPlan(JobSpec(series=s, rev="v1")) for s in ("a", "b")]
    run_matrix(plans, tmp_path, "m", FakeRunner(), Progress(stream=io.StringIO()),
               stages=[("build", build), ("test", test)])
    assert seen["state"] == "complete"
    assert {"junit.xml", "results.tap", "report.html", "reproduce.sh"} <= seen["files"]
    assert [j["job"].split("/")[0] for j in seen["combined"]["jobs"]] == ["a"]
