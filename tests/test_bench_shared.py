"""Measurement 9 (a ccache shared between machines): the figure's arithmetic and
rendering, the plan split, the option, and the three-machine flow on a FakeRunner
that plays `harness.py matrix` (no kernel, no redis)."""
from __future__ import annotations

import io
import json
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

import bench.__main__ as bench_main
import bench.driver
from bench.context import Context, Steps
from bench.m_shared import (FIXTURE_MATRIX, ShardRun, matrix_arg, measure_shared,
                            shared_figure, split_plan)
from bench.report import markdown, results_doc
from bench.run import BenchRequest, run_bench
from common.errors import InfraError, UsageError
from common.proc import FakeRunner

MACHINE = {"cores": 2, "memory_gib": 4, "accel": None, "git_commit": None}


def plan_doc(shards):
    """A `matrix --plan --format json` document: shards as lists of base flags."""
    return {"matrix": "m.yaml", "shard_list": [
        {"shard": f"{i + 1}/{len(shards)}", "index": i,
         "jobs": [{"job": f"j{i}-{k}", "base": b} for k, b in enumerate(flags)]}
        for i, flags in enumerate(shards)]}


def test_split_plan_base_shards_and_series_shards():
    assert split_plan(plan_doc([[True], [False], [False]])) == (["1/3"], ["2/3", "3/3"])
    assert split_plan(plan_doc([[True], [False], []])) == (["1/3"], ["2/3"])   # empty: none


def test_split_plan_mixed_shard_is_a_series_shard_and_both_kinds_are_needed():
    assert split_plan(plan_doc([[True], [True, False]])) == (["1/2"], ["2/2"])
    with pytest.raises(InfraError, match="needs a baseline shard and a series shard"):
        split_plan(plan_doc([[False], [False]]))
    with pytest.raises(InfraError, match="needs a baseline shard"):
        split_plan(plan_doc([[True]]))


def test_figure_is_the_shared_series_wall_over_the_cold_one():
    base = [ShardRun("1/3", 300.0, 250.0, 0, ["baseline"])]
    shared = [ShardRun("2/3", 60.0, 30.0, 0, ["a"]), ShardRun("3/3", 40.0, 20.0, 1, ["b"])]
    cold = [ShardRun("2/3", 200.0, 170.0, 0, ["a"]), ShardRun("3/3", 100.0, 80.0, 1, ["b"])]
    fig = shared_figure(Path("/m/default.yaml"), base, shared, cold,
                        {"remote_storage_hit": 900, "cache_miss": 12})
    assert fig.id == "9" and fig.value == pytest.approx(100 / 300)
    assert fig.verdict() == "no target" and fig.unit == "ratio"
    assert fig.raw["series_wall_shared"] == 100.0 and fig.raw["series_wall_cold"] == 300.0
    assert fig.raw["cold_series_shards"][1] == {"shard": "3/3", "wall": 100.0, "build": 80.0,
                                                "exit_code": 1, "jobs": ["b"]}
    assert "build stages alone 0.200 (50 s / 250 s)" in fig.notes
    assert "machine B: 900 remote ccache hits, 12 misses" in fig.notes
    md = markdown(results_doc([fig], MACHINE, "2026-11-27 10:00 UTC", {}, [], "x"))
    row = next(ln for ln in md.splitlines() if ln.startswith("| 9 |"))
    assert "| 0.333 | n=1 | - | no target |" in row and "matrix default.yaml" in row


def test_figure_refuses_a_zero_cold_time():
    run = [ShardRun("2/2", 0.0, 0.0, 0)]
    with pytest.raises(UsageError, match="not a positive time"):
        shared_figure(Path("m.yaml"), run, run, run, {})


def test_matrix_arg(tmp_path):
    assert matrix_arg("fixture") == FIXTURE_MATRIX.resolve()
    assert matrix_arg("default").name == "default.yaml"
    with pytest.raises(UsageError, match="no such matrix file"):
        matrix_arg(str(tmp_path / "nosuch.yaml"))


def test_bad_shared_matrix_on_the_command_line_exits_2(tmp_path, capsys):
    code = bench_main.main(["--only", "9", "--shared-matrix", str(tmp_path / "x.yaml"),
                            "--out", str(tmp_path / "out")])
    assert code == 2 and "no such matrix file" in capsys.readouterr().err


class Clock:
    def __init__(self):
        self.t = 1000.0

    def monotonic(self):
        return self.t


class FakeMatrix:
    """Plays the harness for measurement 9: `matrix --plan` prints a 3-shard plan,
    `matrix --shard I/N` leaves one job's summary and costs 300 s for the base
    shard, 50 s for a series shard with a remote and 150 s without."""

    def __init__(self, clock):
        self.clock = clock
        self.runner = r = FakeRunner()
        r.on(lambda a: "--plan" in a, stdout="checking...\n" + json.dumps(
            plan_doc([[True], [False], [False]])))
        r.on(lambda a: "--shard" in a, effect=self.shard)
        r.on(lambda a: a[:2] == ["git", "clone"], effect=lambda a: Path(a[-1]).mkdir(
            parents=True))
        r.on(lambda a: a[:2] == ["ccache", "--print-stats"],
             stdout="remote_storage_hit\t800\ncache_miss\t7\n")
        r.on(lambda a: a[:2] == ["git", "-C"], stdout="abc123\n")

    def shard(self, argv):
        shard = argv[argv.index("--shard") + 1]
        results = Path(argv[argv.index("--results") + 1])
        base = shard.startswith("1/")
        self.clock.t += 300.0 if base else 50.0 if "--ccache-remote" in argv else 150.0
        d = results / "run" / shard.replace("/", "of")
        d.mkdir(parents=True)
        (d / "summary.json").write_text(json.dumps({"job": f"job-{shard}", "stages": [
            {"name": "apply", "duration": 5.0},
            {"name": "build", "duration": 200.0 if base else 30.0 if "--ccache-remote"
             in argv else 120.0}]}))


@contextmanager
def fake_redis(workdir):
    yield "redis://127.0.0.1:7"


@pytest.fixture
def fake(tmp_path, monkeypatch):
    user = tmp_path / "user-cache" / "trees" / "debian-6.12"
    user.mkdir(parents=True)
    (user / "kharness-tree.json").write_text('{"name": "debian-6.12"}')
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "user-cache"))
    clock = Clock()
    monkeypatch.setattr(bench.driver, "time", SimpleNamespace(monotonic=clock.monotonic))
    return FakeMatrix(clock)


def test_three_machines_base_then_series_shared_then_cold(tmp_path, fake):
    ctx = Context(fake.runner, tmp_path / "out", Steps(io.StringIO()))
    fig = measure_shared(ctx, FIXTURE_MATRIX, redis=fake_redis)
    assert fig.value == pytest.approx(100 / 300)
    assert fig.raw["series_build_shared"] == 60.0 and fig.raw["series_build_cold"] == 240.0
    assert fig.raw["ccache_b"] == {"remote_storage_hit": 800, "cache_miss": 7}
    shards = [c for c in fake.runner.calls if "--shard" in c["argv"]]
    seen = [(c["argv"][c["argv"].index("--shard") + 1],
             Path(c["env"]["HARNESS_CACHE"]).parent.name,
             "--ccache-remote" in c["argv"]) for c in shards]
    assert seen == [("1/3", "a", True), ("2/3", "b", True), ("3/3", "b", True),
                    ("2/3", "c", False), ("3/3", "c", False)]
    assert all(c["env"]["KHARNESS_CCACHE_REMOTE"] == "" for c in shards)
    remote = shards[0]["argv"][shards[0]["argv"].index("--ccache-remote") + 1]
    assert remote == "redis://127.0.0.1:7"


def test_a_shard_that_fails_fails_the_figure(tmp_path, fake):
    fake.runner.rules.insert(0, (lambda a: "3/3" in a and "--ccache-remote" not in a,
                                 3, "", "", False, None))
    ctx = Context(fake.runner, tmp_path / "out", Steps(io.StringIO()))
    with pytest.raises(InfraError, match="shard 3/3 of smoke-small.yaml ended with exit 3"):
        measure_shared(ctx, FIXTURE_MATRIX, redis=fake_redis)


def test_run_bench_records_figure_9_and_its_matrix(tmp_path, fake, monkeypatch):
    import bench.run
    monkeypatch.setattr(bench.run, "measure_shared",
                        lambda ctx, matrix: measure_shared(ctx, matrix, redis=fake_redis))
    req = BenchRequest(only=(9,), out=tmp_path / "out", json_path=tmp_path / "r.json",
                       md_path=tmp_path / "r.md", shared_matrix=FIXTURE_MATRIX)
    res = run_bench(req, fake.runner, Steps(io.StringIO()))
    assert [f.id for f in res.figures] == ["9"]
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["options"]["shared_matrix"] == str(FIXTURE_MATRIX)
    assert doc["figures"][0]["median"] == pytest.approx(1 / 3, abs=1e-6)
    assert "| 9 | series shards after the baseline shard" in (tmp_path / "r.md").read_text()
