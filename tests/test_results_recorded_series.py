"""The results layer on real recorded jobs of a shipped series (tests/data/runs,
see its README): fanotify-bpf@v1-6.12 and v2-6.12 (the fast path test, two
subtests), v3-6.12 and v3.1-6.12 on the bpf profile under TCG, each a test_progs suite (fanotify-filter: one test, three subtests) and the smoke
suite (12 test_progs tests, 32 results with their subtests), and the base tree's
job on the same profile (smoke only), their baseline; and one job of each other
shipped series: iter-pagecache@rfc-6.12 (iter_pagecache) and
path-iterator@v5.1-6.12 (path_iter, 11 subtests). report, JUnit, KTAP,
JSON, compare, revisions and the bisect criteria read them as they read any job."""
from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness
from bisection.criteria import judge, parse_criterion
from results.store import load_job

DATA = Path(__file__).parent / "data"
RUNS = DATA / "runs"
V1, V2, V3, V31, BASE = ("fanotify-v1-6.12", "fanotify-v2-6.12", "fanotify-v3-6.12",
                         "fanotify-v3.1-6.12", "base-6.12-bpf")
RECORDED = {"v1-6.12": V1, "v2-6.12": V2, "v3-6.12": V3, "v3.1-6.12": V31}
FASTPATH_JOBS = (V1, V2)


def range_diff_file(old: str, new: str) -> Path:
    return DATA / "rangediff" / f"fanotify-bpf-{old}-{new}.txt"
FILTER = ["pass_inside", "deny_inside", "args"]
FASTPATH = ["subtree", "ondir"]


def copy(tmp_path, name):
    dest = tmp_path / name
    shutil.copytree(RUNS / name, dest)
    return dest


@pytest.mark.parametrize("name", [V1, V2, V3, V31, BASE])
def test_recorded_series_jobs_are_real_complete_jobs(name):
    job = load_job(RUNS / name)
    assert job.state == "complete" and job.exit_code == 0
    assert [s.name for s in job.stages] == ["apply", "config", "build", "selftests-build",
                                            "boot", "test"]
    assert (RUNS / name / "reproduce.sh").read_text().startswith("#!/usr/bin/env bash")
    assert "6.12.117" in (RUNS / name / "console.log").read_text(errors="replace")
    paths = {p for p, _ in job.tests()}
    filt = {f"fanotify-filter/fanotify_filter/{t}" for t in FILTER}
    fast = {f"fanotify-bpf/bpf_fanotify_fastpath/{t}" for t in FASTPATH}
    assert filt <= paths if name in (V3, V31) else not filt & paths
    assert fast <= paths if name in FASTPATH_JOBS else not fast & paths
    smoke = [p for p in paths if p.startswith("smoke/")]
    parents = [p for p in smoke if any(q.startswith(p + "/") for q in smoke)]
    assert sorted(parents) == ["smoke/btf_dump", "smoke/map_init", "smoke/xdp_adjust_tail"]
    assert len(smoke) - len(parents) == 32            # the 32 results the job reported


def test_report_on_a_recorded_series_job(tmp_path, capsys):
    run = copy(tmp_path, V31)
    assert harness.main(["report", str(run)]) == 0
    out = capsys.readouterr().out
    row = next(ln.split() for ln in out.splitlines() if ln.startswith("fanotify-bpf/"))
    assert row[:5] == ["fanotify-bpf/v3.1-6.12/bpf-gcc-default", "test", "35", "0", "0"]
    assert "FAIL" not in out
    html = (run / "report.html").read_text()
    assert all(t in html for t in FILTER)


def test_junit_of_a_recorded_series_job():
    root = ET.parse(RUNS / V31 / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    filt = suites["fanotify-filter"]
    assert (filt.get("tests"), filt.get("failures")) == ("3", "0")
    assert [c.get("name") for c in filt.iter("testcase")] == FILTER
    assert suites["smoke"].get("tests") == "32"


def test_ktap_of_a_recorded_series_job(capsys):
    assert harness.main(["parse", "--json", str(RUNS / V31 / "results.tap")]) == 0
    tree = json.loads(capsys.readouterr().out)
    text = json.dumps(tree)
    assert all(f'"{t}"' in text for t in FILTER)
    raw = RUNS / V31 / "suites" / "fanotify-filter" / "raw" / "001-fanotify_filter.log"
    assert harness.main(["parse", str(raw)]) == 0
    ktap = capsys.readouterr().out
    assert "ok 2 deny_inside" in ktap and "not ok" not in ktap


def test_compare_the_two_recorded_revisions(capsys):
    """v3.1-6.12 fixes a sparse warning only: the same tests, the same verdicts."""
    assert harness.main(["compare", str(RUNS / V3), str(RUNS / V31)]) == 0
    out = capsys.readouterr().out
    assert "no regression" in out
    assert harness.main(["compare", "--json", str(RUNS / V3), str(RUNS / V31)]) == 0
    (data,) = json.loads(capsys.readouterr().out)
    assert data["regressed"] is False and data["verdict"] == "no regression"
    assert data["new_failures"] == data["vanished"] == data["new_tests"] == []


def test_compare_across_the_v3_redesign(capsys):
    """v1's fast path test and v3's filter test share no name: two vanish, three
    are new, and neither is a regression."""
    assert harness.main(["compare", str(RUNS / V1), str(RUNS / V31)]) == 0
    out = capsys.readouterr().out
    assert "vanished (2):" in out and "new tests (3):" in out
    assert all(f"fanotify-bpf/bpf_fanotify_fastpath/{t}: pass -> -" in out for t in FASTPATH)


def test_compare_a_recorded_series_job_with_its_recorded_baseline(capsys):
    """What the series adds over the base tree is its three filter subtests; smoke
    is the same. The other way round, they are named as vanished, not passed."""
    assert harness.main(["compare", str(RUNS / BASE), str(RUNS / V31)]) == 0
    out = capsys.readouterr().out
    assert "new tests (3):" in out and "verdict: no regression" in out
    assert all(f"fanotify-filter/fanotify_filter/{t}: - -> pass" in out for t in FILTER)
    assert "smoke/" not in out
    harness.main(["compare", str(RUNS / V31), str(RUNS / BASE)])
    out = capsys.readouterr().out
    assert "vanished (3):" in out
    assert all(f"fanotify-filter/fanotify_filter/{t}: pass -> -" in out for t in FILTER)


@pytest.mark.parametrize("criterion,verdict", [
    ("test:fanotify_filter/deny_inside", "good"),
    ("test:fanotify_filter", "good"),
    ("test:path_iter", "skip"),          # not run in this job: no verdict
    ("splat:.", "good"),
    ("boot", "good"),
    ("build", "good"),
])
@pytest.mark.parametrize("name", [V1, V2, V3, V31, BASE])
def test_bisect_criteria_on_recorded_series_jobs(name, criterion, verdict):
    if name in (V1, V2, BASE) and "fanotify_filter" in criterion:
        verdict = "skip"                 # no filter test in these jobs
    got, why = judge(parse_criterion(criterion), load_job(RUNS / name))
    assert got == verdict, why


def test_revisions_report_from_the_recorded_jobs(tmp_path, monkeypatch, capsys):
    """`harness.py revisions fanotify-bpf`, its jobs answered by the recorded runs
    (laid out where the run writes them) and its range-diff by the recorded one."""
    import bisection.revisions
    import patches.rangediff
    import pipeline.run

    def run_job(spec, stages, runner, progress, root, run_id=None, **kw):
        dest = Path(root) / run_id / spec.series / spec.rev / "bpf-gcc-default"
        shutil.copytree(RUNS / RECORDED[spec.rev], dest)
        return SimpleNamespace(summary=load_job(dest), spec=spec)

    monkeypatch.setattr(pipeline.run, "run_job", run_job)
    monkeypatch.setattr(bisection.revisions, "revisions_with_patches",
                        lambda s: list(RECORDED))
    monkeypatch.setattr(patches.rangediff, "range_diff",
                        lambda req, runner: SimpleNamespace(
                            text=range_diff_file(req.old, req.new).read_text()))
    assert harness.main(["revisions", "fanotify-bpf", "--results", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rows = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines() if ln.strip()}
    assert rows["test"] == ["v1-6.12", "v2-6.12", "v3-6.12", "v3.1-6.12"]
    for t in FILTER:
        assert rows[f"fanotify-filter/fanotify_filter/{t}"] == ["-", "-", "pass", "pass"]
    for t in FASTPATH:
        assert rows[f"fanotify-bpf/bpf_fanotify_fastpath/{t}"] == ["pass", "pass", "-", "-"]
    (page,) = tmp_path.glob("*/report.html")
    html = page.read_text()
    assert "rcu_dereference_protected" in html          # patch 4, added in v3.1
    assert "add fast path handlers called before events are queued" in html  # v1 and v2
    assert "FAN_FP_RET_ALLOW/_DENY" in html             # v2's permission verdicts


# The other shipped series, one real job each (bpf profile, TCG): the series' own
# suite and its tests' paths, beside smoke 32/32.
PATH_ITER = ["destroy_twice", "for_each", "invalid_read_path_iter", "missing_destroy",
             "missing_new", "new_twice", "open_code", "path_walk_example", "reuse_path_iter",
             "untrusted_path", "use_path_after_destroy"]
OTHER = {
    "iter-pagecache-rfc-6.12": ("iter-pagecache", ["iter-pagecache/iter_pagecache"]),
    "path-iterator-v5.1-6.12": ("path-iterator",
                                [f"path-iterator/path_iter/{t}" for t in PATH_ITER]),
}


@pytest.mark.parametrize("name", sorted(OTHER))
def test_recorded_jobs_of_the_other_series(name, tmp_path, capsys):
    suite, own = OTHER[name]
    job = load_job(RUNS / name)
    assert job.state == "complete" and job.exit_code == 0
    paths = {p for p, _ in job.tests()}
    assert set(own) <= paths
    root = ET.parse(RUNS / name / "junit.xml").getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert (suites[suite].get("tests"), suites[suite].get("failures")) == (str(len(own)), "0")
    assert suites["smoke"].get("tests") == "32"
    assert harness.main(["compare", str(RUNS / BASE), str(RUNS / name)]) == 0
    out = capsys.readouterr().out
    assert f"new tests ({len(own)}):" in out and "verdict: no regression" in out
    assert all(f"{t}: - -> pass" in out for t in own)
    test = own[0].split("/", 1)[1]
    assert judge(parse_criterion(f"test:{test}"), job)[0] == "good"
    assert judge(parse_criterion(f"test:{test}"), load_job(RUNS / BASE))[0] == "skip"
    assert harness.main(["report", str(copy(tmp_path, name))]) == 0
    assert "FAIL" not in capsys.readouterr().out
