"""Every output of the three job fixtures in tests/data/runs agrees on the counts:
summary.json, KTAP, JUnit (valid against tests/data/junit.xsd), HTML, text and
compare. test_progs-parent-fail has a test that failed after its subtests
passed, a subtest failure and a lockdep splat."""
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from results.cli import cmd_report
from results.compare import compare_jobs
from results.ktap import parse_ktap
from results.store import load_job
from results.verdicts import counts_of, job_fails
from results.verdicts import test_verdicts as verdicts_of

DATA = Path(__file__).parent / "data"
RUNS = DATA / "runs"
SCHEMA = xmlschema.XMLSchema(str(DATA / "junit.xsd"))

# fixture -> (pass, fail, new splats, failing verdicts)
EXPECTED = {
    "fixture-v1": (3, 0, 0, []),
    "fixture-v2-upto3": (2, 1, 0, ["kharness-fixture/release_ok"]),
    "test_progs-parent-fail": (10, 2, 1, ["test_progs/task_local_storage",
                                          "test_progs/d_path/basic",
                                          "test_progs/splat-105a29ee9ad4"]),
}


@pytest.fixture(params=sorted(EXPECTED))
def written(request, tmp_path, capsys):
    """The fixture job copied, `report` run on it (writes its output files)."""
    dest = tmp_path / request.param
    shutil.copytree(RUNS / request.param, dest)
    assert cmd_report(type("Args", (), {"run": str(dest)})) == 0
    return request.param, dest, capsys.readouterr().out


def test_summary_counts(written):
    name, dest, _ = written
    passed, failed, splats, failing = EXPECTED[name]
    job = load_job(dest)
    assert job.counts() == {k: v for k, v in (("pass", passed), ("fail", failed)) if v}
    assert job_fails(job) == bool(failing)
    data = json.loads((RUNS / name / "summary.json").read_text())
    if "failing" in data:    # written by this version of the store
        assert data["counts"] == job.counts() and data["failing"] == failing


def test_junit_counts_and_schema(written):
    name, dest, _ = written
    passed, failed, splats, failing = EXPECTED[name]
    SCHEMA.validate(str(dest / "junit.xml"))
    suites = ET.parse(dest / "junit.xml").getroot().findall("testsuite")
    cases = [c for s in suites for c in s.findall("testcase")]
    assert sum(int(s.get("tests")) for s in suites) == len(cases) == passed + failed
    failed_cases = [c for c in cases if c.find("failure") is not None]
    assert sum(int(s.get("failures")) for s in suites) == len(failed_cases)
    types = sorted(f.get("type") for c in cases for f in c.findall("failure"))
    assert types == sorted(["fail"] * failed + ["splat"] * splats)


def test_ktap_counts(written):
    """results.tap read back gives the same verdicts (the splat tests apart)."""
    name, dest, _ = written
    passed, failed, splats, _ = EXPECTED[name]
    top = parse_ktap((dest / "results.tap").read_text().splitlines()).tests
    verdicts = verdicts_of(top)
    tests = [v for v in verdicts if "/splat-" not in v.path]
    assert counts_of(tests) == {k: v for k, v in (("pass", passed), ("fail", failed)) if v}
    assert len(verdicts) - len(tests) == splats
    assert top[0].status.value == ("fail" if failed or splats else "pass")


def test_text_and_html(written):
    name, dest, out = written
    passed, failed, splats, failing = EXPECTED[name]
    row = next(line for line in out.splitlines() if line.startswith(load_job(dest).job))
    assert row.split()[2:6] == [str(passed), str(failed), "0", "0"]
    for path in failing:
        if "/splat-" not in path:
            assert f"FAIL: {path}" in out
    html = (dest / "report.html").read_text()
    assert f"pass: {passed}" in html and (f"fail: {failed}" in html) == bool(failed)


def test_parent_fail_fixture_details():
    job = load_job(RUNS / "test_progs-parent-fail")
    tls = next(t for p, t in job.tests() if p == "test_progs/task_local_storage")
    assert tls.log == ["test_task_local_storage:FAIL:cleanup unexpected error: -16 (errno 16)"]
    assert all(s.log == [] for s in tls.subtests)
    assert [g.duration for g in job.suites[0].groups] == [2.412, 7.905, 3.118]


def test_compare_against_the_parent_fail_fixture():
    base = load_job(RUNS / "fixture-v1")
    job = load_job(RUNS / "test_progs-parent-fail")
    cmp = compare_jobs(job, job)
    assert cmp.verdict == "no regression"
    cmp = compare_jobs(base, job)
    assert {c.test for c in cmp.new_failures} == {"test_progs/task_local_storage",
                                                  "test_progs/d_path/basic"}
    assert len(cmp.new_splats) == 1 and cmp.verdict == "regressed"
