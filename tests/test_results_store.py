import json
import xml.etree.ElementTree as ET

import pytest

from common.errors import InputError
from common.stage import StageResult
from results import junit
from results.compare import compare_jobs, format_comparison
from results.model import ParsedLog, Splat, Status, TestResult
from results.report import text_report
from results.store import JobStore, find_jobs, load_job


def parsed(**statuses):
    tests = []
    for name, st in statuses.items():
        if isinstance(st, dict):
            subs = [TestResult(k, Status(v), log=[f"log of {k}"]) for k, v in st.items()]
            tests.append(TestResult(name, Status.PASS, subtests=subs))
        else:
            tests.append(TestResult(name, Status(st), log=[f"log of {name}"]))
    return ParsedLog("test_progs", tests)


def splat(fp, title="WARNING: at foo"):
    return Splat("warning", title, fp, frames=["foo", "bar"], excerpt=[title])


TESTED = ("apply", "build", "boot", "test")


def make_job(tmp_path, run, suites, splats=(), stages=("apply", "build")):
    store = JobStore.create(tmp_path, run, ["series", "v1", "small-gcc"])
    for s in stages:
        store.record_stage(StageResult(s, "ok", 1.5))
    for name, p in suites.items():
        store.add_suite(name, p, raw=f"raw/{name}.log")
    store.add_splats(list(splats))
    store.finish(0)
    return load_job(store.path)


def test_store_roundtrip_and_layout(tmp_path):
    job = make_job(tmp_path, "r1", {"test_progs": parsed(a="pass", b={"x": "fail", "y": "skip"})})
    assert job.state == "complete" and job.job == "series/v1/small-gcc"
    assert (job.path / "parsed" / "test_progs.json").exists()
    assert job.counts() == {"pass": 1, "fail": 1, "skip": 1}
    assert [p for p, _ in job.tests()] == ["test_progs/a", "test_progs/b", "test_progs/b/x",
                                           "test_progs/b/y"]


def test_killed_run_reads_as_incomplete(tmp_path):
    store = JobStore.create(tmp_path, "r1", ["base", "t", "p"])
    store.record_stage(StageResult("build", "ok", 3.0))
    # no finish(): the process died here
    job = load_job(store.path)
    assert job.state == "incomplete" and job.stages[0].name == "build"


def test_skip_rest_marks_later_stages(tmp_path):
    store = JobStore.create(tmp_path, "r1", ["s", "v", "p"])
    store.record_stage(StageResult("apply", "ok"))
    store.record_stage(StageResult("config", "failed", detail="dropped CONFIG_X", exit_code=4))
    store.skip_rest("config", "config failed")
    names = [(s.name, s.status) for s in store.summary().stages]
    assert names[:3] == [("apply", "ok"), ("config", "failed"), ("build", "skipped")]
    assert all(st == "skipped" for _, st in names[2:])


def test_load_job_errors_name_the_path(tmp_path):
    with pytest.raises(InputError, match=str(tmp_path)):
        load_job(tmp_path)
    (tmp_path / "summary.json").write_text("{broken")
    with pytest.raises(InputError, match="unreadable"):
        load_job(tmp_path)


def test_find_jobs_walks_run_dirs(tmp_path):
    make_job(tmp_path, "r1", {"s": parsed(a="pass")})
    assert [p.name for p in find_jobs(tmp_path)] == ["small-gcc"]
    with pytest.raises(InputError):
        find_jobs(tmp_path / "nope")


def test_junit_counts_and_failure_text(tmp_path):
    p = parsed(a="pass", b={"x": "fail", "y": "skip"}, c="timeout")
    p.tests.append(TestResult("d", Status.FLAKY, runs=["fail", "pass"]))
    job = make_job(tmp_path, "r1", {"test_progs": p})
    root = ET.fromstring(junit.render([("", job.suites)]))
    suite = root.find("testsuite")
    assert suite.get("name") == "test_progs"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("5", "1", "1", "1")
    fail = root.find(".//testcase[@name='x']")
    assert fail.get("classname") == "test_progs.b"
    assert fail.find("failure").text == "log of x"
    assert root.find(".//testcase[@name='d']/flakyFailure") is not None


def test_compare_finds_every_kind_of_change(tmp_path):
    a = make_job(tmp_path, "a", {"t": parsed(keep="pass", broke="pass", fixed="fail",
                                            skipme="pass", gone="pass")},
                 splats=[splat("f1"), splat("f2")], stages=TESTED)
    b = make_job(tmp_path, "b", {"t": parsed(keep="pass", broke="fail", fixed="pass",
                                            skipme="skip", fresh="pass")},
                 splats=[splat("f2"), splat("f3", "BUG: new")], stages=TESTED)
    cmp = compare_jobs(a, b)
    assert [c.test for c in cmp.new_failures] == ["t/broke"]
    assert [c.test for c in cmp.fixes] == ["t/fixed"]
    assert [c.test for c in cmp.newly_skipped] == ["t/skipme"]
    assert [c.test for c in cmp.vanished] == ["t/gone"]
    assert [c.test for c in cmp.new_tests] == ["t/fresh"]
    assert [s.fingerprint for s in cmp.new_splats] == ["f3"]
    assert [s.fingerprint for s in cmp.gone_splats] == ["f1"]
    assert cmp.regressed
    assert "REGRESSED" in format_comparison(cmp)
    assert not compare_jobs(a, a).regressed


def test_compare_stage_regression(tmp_path):
    a = make_job(tmp_path, "a", {}, stages=("apply", "build"))
    store = JobStore.create(tmp_path, "b", ["series", "v1", "small-gcc"])
    store.record_stage(StageResult("apply", "ok"))
    store.record_stage(StageResult("build", "failed", exit_code=5))
    store.finish(5)
    assert compare_jobs(a, load_job(store.path)).regressed


def test_text_report_lists_failures_and_splats(tmp_path):
    job = make_job(tmp_path, "r", {"tp": parsed(a="pass", b="fail")}, splats=[splat("abc")])
    out = text_report([job])
    assert "FAIL: tp/b" in out and "SPLAT [abc]" in out
    header, rule, row = out.splitlines()[:3]
    assert header.split()[:3] == ["job", "reached", "pass"]
    assert row.split()[:2] == ["series/v1/small-gcc", "build"]


def test_summary_json_is_written_after_each_stage(tmp_path):
    store = JobStore.create(tmp_path, "r", ["a", "b", "c"])
    store.record_stage(StageResult("apply", "ok"))
    data = json.loads((store.path / "summary.json").read_text())
    assert data["state"] == "running" and data["stages"][0]["name"] == "apply"


def test_text_report_lists_the_new_warnings_robot_style(tmp_path):
    job = make_job(tmp_path, "r", {"tp": parsed(a="pass")})
    build = next(s for s in job.stages if s.name == "build")
    build.data.update({"new_warnings": 1,
                       "new": ["fs/namei.c:12:5: warning: unused variable 'x'"]})
    out = text_report([job])
    assert "  >> fs/namei.c:12:5: warning: unused variable 'x'" in out
    header, rule, row = out.splitlines()[:3]
    assert row.split()[header.split().index("new")] == "1"
