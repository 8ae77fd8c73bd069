"""Concurrent runs do not share state: run ids have sub-second resolution and a
random tag (two `harness.py run` in the same second get two run dirs), and each
job verifies its .config in a config scratch dir of its own."""
from types import SimpleNamespace

import pytest

import harness
import configs
from pipeline.context import StageReport
from pipeline.job import JobSpec
from pipeline.stages import _make_config
from results.store import new_run_id, safe


def test_run_ids_made_in_the_same_second_differ():
    ids = [new_run_id("x") for _ in range(200)]
    assert len(set(ids)) == 200 and ids == sorted(ids, key=lambda i: i[:22])


def test_two_runs_at_once_get_their_own_run_dirs(tmp_path, monkeypatch):
    import pipeline.stages
    results = tmp_path / "results"
    monkeypatch.setenv("HARNESS_RESULTS", str(results))
    monkeypatch.setattr(pipeline.stages, "STAGES", [("apply", lambda ctx: StageReport())])
    for _ in range(3):
        assert harness.main(["run", "--base-only", "--profile", "small",
                             "--results", str(results)]) == 0
    assert len(list(results.rglob("summary.json"))) == 3


@pytest.mark.parametrize("part", [".", "..", "a/b", "x\ny"])
def test_a_path_part_never_leaves_its_dir(part):
    assert safe(part) not in (".", "..") and "/" not in safe(part) and "\n" not in safe(part)


def scratch_of(monkeypatch, spec: JobSpec):
    seen = []
    monkeypatch.setattr(configs, "make_config", lambda req, runner: seen.append(req.build_dir))
    plan = SimpleNamespace(arch="x86_64", toolchain=SimpleNamespace(
        llvm=False, cross_vars=lambda: {}))
    _make_config(SimpleNamespace(spec=spec, plan=plan, runner=None), None, [], None)
    return seen[0]


def test_each_job_has_its_own_config_scratch_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    a = scratch_of(monkeypatch, JobSpec(series="s", rev="v1", profile="small"))
    b = scratch_of(monkeypatch, JobSpec(series="s", rev="v2", profile="small"))
    base = scratch_of(monkeypatch, JobSpec(profile="small"))
    assert len({a, b, base}) == 3
    assert a == scratch_of(monkeypatch, JobSpec(series="s", rev="v1", profile="small"))
    assert a.is_relative_to(tmp_path / "cache" / "kconfig")
