"""Shard runs carry the plan id; `harness.py merge` keeps every job and comparison
across shards and refuses a missing, duplicated or other-plan shard."""
import io
import json
import xml.etree.ElementTree as ET

import pytest

import harness
from common.progress import Progress
from common.proc import FakeRunner
from pipeline.check import JobPlan
from pipeline.job import JobSpec
from pipeline.multi import run_matrix
from pipeline.plan import plan_id, shards
from tests.test_pipeline_multi import stages_for

OUTCOMES = {"a": "fail", "b": "pass", "c": "pass"}


def plans():
    return [JobPlan(s) for s in (JobSpec(series="a", rev="v1"), JobSpec(name="baseline"),
                                 JobSpec(series="b", rev="v1"), JobSpec(series="c", rev="v1"))]


def run_shard(tmp_path, i, n, all_plans=None, name=None, remote=None):
    all_plans = all_plans or plans()
    sh = shards(all_plans, n)[i - 1]
    meta = {"plan": {"id": plan_id(all_plans, n), "shard": sh.label, "index": sh.index,
                     "shards": n, "matrix": "m.yaml",
                     "jobs": [p.spec.label() for p in sh.jobs]}}
    if remote:
        meta["ccache_remote"] = remote
    name = name or f"s{i}of{n}"
    run_matrix(list(sh.jobs), tmp_path, name, FakeRunner(), Progress(stream=io.StringIO()),
               stages=stages_for(OUTCOMES), meta=meta)
    return tmp_path / name


def merge(capsys, *argv):
    code = harness.main(["merge", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_shard_run_json_has_the_plan_and_ccache_remote(tmp_path):
    d = run_shard(tmp_path, 1, 2, remote="redis://127.0.0.1:1")
    data = json.loads((d / "run.json").read_text())
    assert data["plan"]["id"] == plan_id(plans(), 2) and data["plan"]["shard"] == "1/2"
    assert data["ccache_remote"] == "redis://127.0.0.1:1"
    assert data["jobs"][0]["base"] is True                # base first in its shard
    manifest = json.loads(next(d.rglob("manifest.json")).read_text())
    assert manifest["facts"]["ccache"] == {"remote": "redis://127.0.0.1:1"}
    assert manifest["facts"]["shard"]["shard"] == "1/2"


def test_merge_equals_the_unsharded_run(tmp_path, capsys):
    full = tmp_path / "full"
    run_matrix(plans(), full, "all", FakeRunner(), Progress(stream=io.StringIO()),
               stages=stages_for(OUTCOMES))
    whole = json.loads((full / "all" / "run.json").read_text())
    s1, s2 = run_shard(tmp_path, 1, 2), run_shard(tmp_path, 2, 2)
    code, out, _ = merge(capsys, s2, s1, "--out", tmp_path / "merged")
    assert code == 1                                      # series a: a new failure
    merged = json.loads((tmp_path / "merged" / "run.json").read_text())
    assert sorted(((j["job"], j["exit_code"], j["state"]) for j in merged["jobs"])) == \
        sorted(((j["job"], j["exit_code"], j["state"]) for j in whole["jobs"]))
    assert sorted(merged["comparisons"], key=lambda c: c["b"]) == \
        sorted(whole["comparisons"], key=lambda c: c["b"])
    assert len(merged["comparisons"]) == 3                # every series against the base
    assert merged["plan"]["id"] == plan_id(plans(), 2)
    assert "smoke/x: pass -> fail" in out
    suites = ET.parse(tmp_path / "merged" / "junit.xml").getroot().findall("testsuite")
    assert len(suites) == 4
    tap = (tmp_path / "merged" / "results.tap").read_text()
    assert tap.count("\nok ") + tap.count("\nnot ok ") >= 4
    assert "new failures" in (tmp_path / "merged" / "report.html").read_text()


def test_merge_missing_shard(tmp_path, capsys):
    s1 = run_shard(tmp_path, 1, 3)
    run_shard(tmp_path, 2, 3)
    code, _, err = merge(capsys, s1, tmp_path / "s2of3", "--out", tmp_path / "m")
    assert code == 2 and "missing shard(s) 3/3" in err and "run.json" in err
    assert not (tmp_path / "m").exists()                   # nothing half-written


def test_merge_duplicate_shard(tmp_path, capsys):
    s1 = run_shard(tmp_path, 1, 2)
    again = run_shard(tmp_path, 1, 2, name="again")
    s2 = run_shard(tmp_path, 2, 2)
    code, _, err = merge(capsys, s1, again, s2, "--out", tmp_path / "m")
    assert code == 2 and "duplicate shard 1/2" in err and str(s1) in err


def test_merge_shard_of_another_plan(tmp_path, capsys):
    s1 = run_shard(tmp_path, 1, 2)
    other = plans()[:3]
    s2 = run_shard(tmp_path, 2, 2, all_plans=other, name="other")
    code, _, err = merge(capsys, s1, s2, "--out", tmp_path / "m")
    assert code == 2 and "from another plan" in err
    plain = tmp_path / "plain"
    run_matrix(plans()[3:], plain, "p", FakeRunner(), Progress(stream=io.StringIO()),
               stages=stages_for(OUTCOMES))
    code, _, err = merge(capsys, s1, plain / "p", "--out", tmp_path / "m")
    assert code == 2 and "not a shard of a plan" in err


def test_merge_missing_dir(tmp_path, capsys):
    code, _, err = merge(capsys, tmp_path / "nosuch", "--out", tmp_path / "m")
    assert code == 2 and "no such shard results directory" in err


@pytest.mark.parametrize("n", [1, 4, 6])     # 6: two shards have no job
def test_merge_of_all_shards_keeps_every_job(tmp_path, capsys, n):
    dirs = [run_shard(tmp_path, i, n) for i in range(1, n + 1)]
    code, _, _ = merge(capsys, *dirs, "--out", tmp_path / "m")
    merged = json.loads((tmp_path / "m" / "run.json").read_text())
    assert code == 1 and len(merged["jobs"]) == 4 and len(merged["comparisons"]) == 3


def test_merge_reports_a_shard_that_lost_jobs(tmp_path, capsys):
    """A shard killed before some of its jobs started: merged, said, never a pass."""
    s1, s2 = run_shard(tmp_path, 1, 2), run_shard(tmp_path, 2, 2)
    import shutil
    lost = sorted(p.parent for p in s2.rglob("summary.json"))[0]
    shutil.rmtree(lost)
    code, out, _ = merge(capsys, s1, s2, "--out", tmp_path / "m")
    merged = json.loads((tmp_path / "m" / "run.json").read_text())
    assert code == 7 and "shard 2/2" in out and "1 of its 2 planned job(s) have no results" in out
    assert merged["incomplete_shards"] == [{"shard": "2/2", "dir": str(s2), "planned": 2,
                                            "results": 1}]
    assert len(merged["jobs"]) == 3
