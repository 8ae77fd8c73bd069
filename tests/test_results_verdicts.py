"""One place decides a job's verdicts (results/verdicts.py); every output reads it:
a test that fails while its subtests pass, splats, durations, incomplete compares."""
import argparse
import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from bisection.criteria import judge, parse_criterion
from common.errors import EXIT_INFRA, EXIT_PASS, EXIT_TESTS_FAILED, InputError
from common.stage import StageResult
from results import junit
from results.cli import cmd_compare
from results.compare import compare_jobs, format_comparison
from results.ktap import parse_ktap
from results.model import ParsedLog, Splat, Status, TestResult
from results.report import job_ktap, render_html, text_report
from results.splatlist import expired, load_splat_list, mark_known, tree_splat_list
from results.store import GroupTiming, JobStore, load_job
from results.verdicts import job_fails, job_verdicts, own_failure

TESTED = ("apply", "config", "build", "selftests-build", "boot", "test")


def cleanup_failure() -> TestResult:
    """test_progs: subtests all OK, then the test itself FAIL (in its cleanup)."""
    subs = [TestResult("a", Status.PASS), TestResult("b", Status.PASS)]
    return TestResult("tls", Status.FAIL, log=["test_tls:FAIL:cleanup unexpected error: -16"],
                      subtests=subs)


def lockdep(fp="105a29ee9ad47a3a", test="tls"):
    return Splat("lockdep", "possible circular locking dependency detected", fp,
                 excerpt=["WARNING: possible circular locking dependency detected"],
                 test=test)


def job(tmp_path, tests, splats=(), stages=TESTED, run="r", groups=None, known=()):
    store = JobStore.create(tmp_path, run, ["s", "v1", "p"])
    for s in stages:
        store.record_stage(StageResult(s, "ok", 1.0))
    store.use_splat_list(list(known))
    store.add_suite("tp", ParsedLog("test_progs", tests, splats=list(splats)), raw="raw/tp.log",
                    groups=groups)
    store.finish(1)
    return load_job(store.path)


# 1. a test that fails while its subtests pass

def test_parent_failure_counts_once_with_its_own_log():
    parsed = ParsedLog("test_progs", [cleanup_failure()])
    assert parsed.counts() == {"pass": 2, "fail": 1}
    assert own_failure(parsed.tests[0])


def test_parent_failing_through_its_subtest_counts_through_it():
    t = TestResult("d_path", Status.FAIL, subtests=[TestResult("basic", Status.FAIL),
                                                    TestResult("x", Status.PASS)])
    assert ParsedLog("test_progs", [t]).counts() == {"fail": 1, "pass": 1}


def test_parent_failure_in_every_output(tmp_path):
    j = job(tmp_path, [cleanup_failure()])
    assert j.counts() == {"pass": 2, "fail": 1} and job_fails(j)
    suite = ET.fromstring(junit.render_jobs([("", j)])).find("testsuite")
    assert suite.get("failures") == "1" and suite.get("tests") == "3"
    case = next(c for c in suite if c.get("name") == "tls")
    assert "cleanup unexpected error" in case.find("failure").text
    assert "not ok 1 tls" in job_ktap(j) and "# test_tls:FAIL:cleanup" in job_ktap(j)
    assert "FAIL: tp/tls (failed on its own" in text_report([j])
    html = render_html([j], "t")
    assert "tp/tls</td><td class=\"fail\">" in html and "cleanup unexpected error" in html
    assert [v.path for v in job_verdicts(j) if v.status.is_bad] == ["tp/tls"]


def test_compare_sees_a_parent_failure(tmp_path):
    ok = TestResult("tls", Status.PASS, subtests=[TestResult("a", Status.PASS),
                                                  TestResult("b", Status.PASS)])
    a, b = job(tmp_path, [ok], run="a"), job(tmp_path, [cleanup_failure()], run="b")
    cmp = compare_jobs(a, b)
    assert [(c.test, c.before, c.after) for c in cmp.new_failures] == [("tp/tls", "pass", "fail")]
    assert not cmp.new_tests and cmp.regressed
    assert [c.test for c in compare_jobs(b, a).fixes] == ["tp/tls"]


def test_bisect_criterion_sees_a_parent_failure(tmp_path):
    j = job(tmp_path, [cleanup_failure()])
    assert judge(parse_criterion("test:tls"), j)[0] == "bad"


# 2. splats in every format

def test_new_splat_fails_the_test_case_that_ran_and_gets_a_ktap_test(tmp_path):
    leaf = TestResult("tls", Status.PASS)
    j = job(tmp_path, [leaf], splats=[lockdep()])
    assert job_fails(j)
    case = ET.fromstring(junit.render_jobs([("", j)])).find("testsuite/testcase")
    assert case.get("name") == "tls"
    assert case.find("failure").get("type") == "splat"
    assert "circular locking" in case.find("system-err").text
    ktap = job_ktap(j).splitlines()
    at = ktap.index("  ok 1 tls")
    assert ktap[at - 1].startswith("  # splat [105a29ee9ad47a3a] lockdep:")
    assert "  not ok 2 splat-105a29ee9ad4" in ktap


def test_splat_with_no_test_running_is_a_case_of_its_own(tmp_path):
    j = job(tmp_path, [TestResult("x", Status.PASS)], splats=[lockdep(test=None)])
    cases = ET.fromstring(junit.render_jobs([("", j)])).findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == ["x", "splat-105a29ee9ad4"]
    assert cases[1].find("failure").get("type") == "splat"


def test_known_splat_is_reported_but_does_not_fail(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "splats.yaml").write_text(
        "splats:\n  - match: '^lockdep: possible circular'\n    reason: known iter lock order\n")
    j = job(tmp_path, [TestResult("tls", Status.PASS)], splats=[lockdep()],
            known=tree_splat_list("t", trees_dir=tmp_path))
    assert not job_fails(j) and j.splats[0].known == "known iter lock order"
    case = ET.fromstring(junit.render_jobs([("", j)])).find("testsuite/testcase")
    assert case.find("failure") is None and "known" in case.find("system-err").text
    assert "ok 2 splat-105a29ee9ad4 # XFAIL" in job_ktap(j)
    assert "(1 known)" in text_report([j])


# 3. durations

def test_measured_group_time_in_junit_and_ktap(tmp_path):
    tests = [TestResult("tls", Status.PASS), TestResult("y", Status.PASS),
             TestResult("z", Status.PASS)]
    groups = [GroupTiming("tls", 7.905, ["tls"]), GroupTiming("y+1", 2.0, ["y", "z"])]
    j = job(tmp_path, tests, groups=groups)
    suite = ET.fromstring(junit.render_jobs([("", j)])).find("testsuite")
    assert [c.get("time") for c in suite] == ["7.905", None, None]
    assert suite.get("time") == "9.905"
    ktap = job_ktap(j)
    assert "  # duration: 7.905s\n  ok 1 tls" in ktap
    back = parse_ktap(ktap.splitlines()).tests[0]
    assert back.duration == 9.905 and back.subtests[0].duration == 7.905
    assert back.subtests[0].log == []


# 8. only real result lines become results

def test_kselftest_free_text_ok_is_not_a_subtest():
    from results.kselftest import parse_kselftest
    p = parse_kselftest(["TAP version 13", "1..1", "# selftests: net: foo",
                         "# ok: something succeeded", "# not ok: cleanup pending",
                         "ok 1 selftests: net: foo"])
    assert [path for path, _ in p.flat()] == ["net:foo"] and p.counts() == {"pass": 1}


def test_ktap_needs_a_number_tap13_does_not():
    p = parse_ktap(["KTAP version 1", "1..1", "ok: fine", "ok done", "ok 1 a"])
    assert [(t.name, t.status.value) for t in p.tests] == [("a", "pass")]
    assert [u[1] for u in p.unknown] == ["ok: fine", "ok done"]
    p = parse_ktap(["TAP version 13", "1..1", "ok first"])
    assert [t.name for t in p.tests] == ["first"]


# 10. compare gives verdicts only between jobs that reached their tests

def test_compare_with_a_job_stopped_while_building(tmp_path):
    a = job(tmp_path, [TestResult("x", Status.PASS)], run="a")
    store = JobStore.create(tmp_path, "b", ["s", "v1", "p"])
    store.record_stage(StageResult("apply", "ok"))
    store.record_stage(StageResult("build", "running"))
    b = load_job(store.path)   # killed: no finish()
    cmp = compare_jobs(a, b)
    assert cmp.verdict == "incomplete" and not cmp.vanished
    text = format_comparison(cmp)
    assert "verdict: incomplete" in text and "reached apply; stopped in build (incomplete)" in text
    assert "no regression" not in text and "vanished" not in text
    args = argparse.Namespace(a=str(a.path), b=str(b.path), json=False)
    assert cmd_compare(args) == EXIT_INFRA


def test_compare_exit_codes_of_complete_jobs(tmp_path):
    a = job(tmp_path, [TestResult("x", Status.PASS)], run="a")
    b = job(tmp_path, [TestResult("x", Status.FAIL)], run="b")
    ns = argparse.Namespace(json=True)
    ns.a, ns.b = str(a.path), str(b.path)
    assert cmd_compare(ns) == EXIT_TESTS_FAILED
    ns.b = str(a.path)
    assert cmd_compare(ns) == EXIT_PASS


# the splat list

def test_splat_list_entries_and_expiry(tmp_path):
    f = tmp_path / "splats.yaml"
    f.write_text("splats:\n"
                 "  - fingerprint: 105a29ee9ad47a3a\n    reason: seen since 6.12\n"
                 "    expires: 2026-01-01\n"
                 "  - match: 'kasan: .*bpf_iter'\n    reason: fixed upstream by abc123\n")
    entries = load_splat_list(f)
    sp, other = lockdep(), lockdep(fp="0000000000000000")
    mark_known([sp, other], entries)
    assert sp.known == "seen since 6.12" and other.known == ""
    warn = expired(entries, dt.date(2026, 6, 1))
    assert len(warn) == 1 and "splats.yaml:2" in warn[0] and "expired" in warn[0]
    assert expired(entries, dt.date(2025, 6, 1)) == []


@pytest.mark.parametrize("body,line", [
    ("splats:\n  - match: 'x'\n", 2),                                  # no reason
    ("splats:\n  - match: 'x'\n    fingerprint: 0123456789abcdef\n    reason: r\n", 2),
    ("splats:\n  - match: '('\n    reason: r\n", 2),
    ("splats:\n  - fingerprint: xyz\n    reason: r\n", 2),
    ("splats:\n  - match: x\n    reason: r\n    expires: soon\n", 4),
    ("splats:\n  - match: x\n    reason: r\n    why: extra\n", 4),
])
def test_bad_splat_list_names_file_and_line(tmp_path, body, line):
    f = tmp_path / "splats.yaml"
    f.write_text(body)
    with pytest.raises(InputError) as e:
        load_splat_list(f)
    assert e.value.line == line and e.value.path == str(f)


def test_shipped_splat_lists_load():
    from results.splatlist import TREES_DIR
    for f in TREES_DIR.glob("*/splats.yaml"):
        for e in load_splat_list(f):
            assert e.reason
