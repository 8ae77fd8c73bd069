"""The bench's CLI driving, on a FakeRunner that plays the harness (no kernel, no VM)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bench import m_jobs
from bench.context import Context, Steps
from bench.driver import Env, JobRun, run_job
from bench.m_parallel import find_cached, measure_parallel, mem_available_gib, suite_variants
from bench.run import BenchRequest, run_bench
from common.errors import InfraError
from common.proc import FakeRunner
from selftests.suite import load_suite

WARM = [("apply", "cached"), ("config", "ok"), ("build", "cached"),
        ("selftests-build", "ok"), ("boot", "ok"), ("test", "ok")]
COLD = [("apply", "ok"), ("config", "ok"), ("build", "ok"), ("selftests-build", "ok"),
        ("boot", "ok"), ("test", "ok")]


def _job_dir(root: Path, n: int, stages, rc=0) -> Path:
    d = root / f"job{n}"
    d.mkdir(parents=True)
    (d / "summary.json").write_text(json.dumps({
        "exit_code": rc, "stages": [{"name": s, "status": st, "duration": 1.0 + i}
                                    for i, (s, st) in enumerate(stages)]}))
    (d / "manifest.json").write_text(json.dumps({"facts": {"vm": {"accel": "tcg",
                                                                  "probe": "KVM failed"}}}))
    (d / "reproduce.sh").write_text("#!/bin/sh\n")
    return d


class FakeHarness:
    """A FakeRunner that plays the harness: `harness.py run` and `bash reproduce.sh`
    each leave a fresh job dir and print its `results:` line."""

    def __init__(self, root: Path, stages=WARM, rc=0):
        self.root, self.stages, self.rc, self.n = root, stages, rc, 0
        self.runner = FakeRunner()
        self.runner.on(self._is_job, effect=self._job)
        self.runner.on(lambda a: a[:2] == ["git", "-C"], stdout="abc123\n")
        plain = self.runner.run
        self.runner.run = lambda argv, **kw: self._answer(plain, argv, kw)

    @staticmethod
    def _is_job(argv) -> bool:
        return argv[0] == "bash" or (len(argv) > 2 and argv[2] == "run")

    def _job(self, argv):
        self.n += 1
        self.last = _job_dir(self.root, self.n, self.stages, self.rc)

    def _answer(self, plain, argv, kw):
        res = plain(argv, **kw)
        if self._is_job([str(a) for a in argv]):
            res.returncode = self.rc
            res.stdout = f"job x -> {self.last}\nresults: {self.last}\n"
        return res


def _ctx(tmp_path, runner, repeat=2) -> Context:
    return Context(runner, tmp_path / "out", Steps(io.StringIO()), repeat)


def _fake_run(fake: FakeHarness, ctx: Context, args) -> JobRun:
    return run_job(fake.runner, args, ctx.private, ctx.log("x"))


def test_run_job_reads_the_results_dir_and_passes_the_env(tmp_path):
    fake = FakeHarness(tmp_path / "jobs")
    ctx = _ctx(tmp_path, fake.runner)
    run = _fake_run(fake, ctx, ["path-iterator@v2-6.12"])
    assert run.path == tmp_path / "jobs" / "job1"
    assert run.stage_statuses()["build"] == "cached"
    assert run.accel() == ("tcg", "KVM failed")
    env = fake.runner.calls[-1]["env"]
    assert env == {"HARNESS_RESULTS": str(tmp_path / "out" / "results"),
                   "HARNESS_CACHE": str(tmp_path / "out" / "cache")}
    argv = fake.runner.calls[-1]["argv"]
    assert argv[1].endswith("harness.py") and argv[2:4] == ["run", "path-iterator@v2-6.12"]


def test_run_job_with_a_failed_stage_is_an_error(tmp_path):
    fake = FakeHarness(tmp_path / "jobs", stages=[("apply", "ok"), ("build", "failed")], rc=5)
    ctx = _ctx(tmp_path, fake.runner)
    with pytest.raises(InfraError, match=r"exit 5 \(build failed\)"):
        _fake_run(fake, ctx, ["x"])


def test_run_job_without_a_results_line_is_an_error(tmp_path):
    runner = FakeRunner().on("harness.py", returncode=2, stdout="usage: ...\n")
    ctx = _ctx(tmp_path, runner)
    with pytest.raises(InfraError, match="no 'results:' line"):
        run_job(runner, ["x"], ctx.private, ctx.log("x"))


def test_reruns_pair_harness_runs_with_reproduce_sh(tmp_path):
    fake = FakeHarness(tmp_path / "jobs", stages=WARM)
    ctx = _ctx(tmp_path, fake.runner, repeat=2)
    cold = JobRun(call=None, path=_job_dir(tmp_path / "cold", 0, COLD))
    cold.summary = json.loads((cold.path / "summary.json").read_text())

    class Wall:   # the cold run's wall time
        wall = 100.0
    cold.call = Wall()
    figs = m_jobs.reruns(ctx, cold, rerun=True, overhead=True)
    kinds = ["bash" if c["argv"][0] == "bash" else c["argv"][2] for c in fake.runner.calls]
    assert kinds == ["run", "bash", "bash", "run"]          # order alternates per pair
    assert all(c["argv"][1] == str(cold.path / "reproduce.sh")
               for c in fake.runner.calls if c["argv"][0] == "bash")
    over, rerun = figs
    assert over.id == "1" and over.target.value == 1.03
    assert len(over.samples) == 2 and len(over.raw["run_s"]) == 2
    assert rerun.id == "2" and len(rerun.samples) == 2
    assert all(s < 1 for s in rerun.samples)                # fake runs take no time
    assert "stages that ran again: config, selftests-build, boot, test" in rerun.notes[1]
    assert "reused (cached): apply, build" in rerun.notes[1]
    assert rerun.raw["cold_s"] == 100.0


def test_suite_variants_are_valid_suites(tmp_path):
    paths = suite_variants(tmp_path)
    serial, j2 = load_suite(paths["smoke-serial"]), load_suite(paths["smoke-j2"])
    h1, h2 = load_suite(paths["smoke-half1"]), load_suite(paths["smoke-half2"])
    assert (serial.parallel, j2.parallel) == (1, 2)
    assert serial.batch == j2.batch == len(serial.allow)
    assert serial.cpus == j2.cpus == 2 and h1.cpus == h2.cpus == 1
    assert h1.allow + h2.allow == serial.allow and h1.name == "smoke-half1"


def test_find_cached(tmp_path):
    art = tmp_path / "kbuild" / "artifacts"
    for key, meta, image in (("k1", {"family": "debian-6.12-bpf-gcc"}, True),
                             ("k2", {"family": "debian-6.12-bpf-gcc",
                                     "targets": ["test_progs"]}, False),
                             ("k3", {"family": "debian-6.12-small-gcc"}, True)):
        (art / key).mkdir(parents=True)
        (art / key / "complete").write_text(json.dumps(meta))
        if image:
            (art / key / "bzImage").write_text("x")
    found = find_cached(tmp_path)
    assert found.kernel == art / "k1" and found.selftests == art / "k2"
    assert find_cached(tmp_path, profile="small").missing() == "test_progs"
    assert find_cached(tmp_path / "none").missing() == "kernel and test_progs"


def test_mem_available():
    assert mem_available_gib("MemAvailable:   4194304 kB\n") == 4.0
    assert mem_available_gib("") == 0.0


def test_parallel_is_skipped_without_cached_bpf_builds(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "empty"))
    runner = FakeRunner()
    figs = measure_parallel(_ctx(tmp_path, runner))
    assert [f.id for f in figs] == ["6a", "6b"]
    assert all(f.verdict().startswith("SKIPPED: no finished debian-6.12 bpf-profile build "
                                      "of the kernel and test_progs") for f in figs)
    assert runner.calls == []                                 # nothing was started


def test_run_bench_writes_results_and_records_failures(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "empty"))
    fake = FakeHarness(tmp_path / "jobs", stages=[("apply", "ok"), ("build", "failed")], rc=5)
    out = io.StringIO()
    req = BenchRequest(only=(1, 6), repeat=1, out=tmp_path / "out",
                       json_path=tmp_path / "r.json", md_path=tmp_path / "r.md")
    res = run_bench(req, fake.runner, Steps(out))
    ids = {f.id: f.verdict() for f in res.figures}
    assert ids["1"].startswith("FAILED: job ") and "build failed" in ids["1"]
    assert ids["6a"].startswith("SKIPPED") and ids["6b"].startswith("SKIPPED")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["machine"]["git_commit"] == "abc123" and doc["options"]["only"] == [1, 6]
    assert doc["complete"] is True
    assert [s["ok"] for s in doc["steps"]] == [False, True]
    md = (tmp_path / "r.md").read_text()
    assert "| 1 | overhead" in md and "FAILED" in md and "SKIPPED" in md
    text = out.getvalue()
    assert "1/2 warm reruns and reproduce.sh: FAILED after" in text
    assert "[bench +" in text and "wrote " in text


def test_env_without_cache_leaves_the_users_cache():
    assert Env(results=Path("/r")).vars() == {"HARNESS_RESULTS": "/r"}


def test_reproducer_runs_with_the_venv_first_in_path(tmp_path):
    import sys
    fake = FakeHarness(tmp_path / "jobs")
    ctx = _ctx(tmp_path, fake.runner)
    first = _fake_run(fake, ctx, ["x"])
    from bench.driver import run_reproducer
    run_reproducer(fake.runner, first, ctx.private, ctx.log("r"))
    env = fake.runner.calls[-1]["env"]
    assert env["PATH"].split(":")[0] == str(Path(sys.executable).parent)
    assert env["HARNESS_CACHE"] == str(tmp_path / "out" / "cache")


def test_a_failing_reproducer_fails_figure_1_but_not_the_reruns(tmp_path):
    fake = FakeHarness(tmp_path / "jobs", stages=WARM)
    plain = fake.runner.run

    def run(argv, **kw):
        res = plain(argv, **kw)
        if argv[0] == "bash":
            res.returncode, res.stdout = 1, "ModuleNotFoundError: No module named 'paramiko'\n"
        return res
    fake.runner.run = run
    ctx = _ctx(tmp_path, fake.runner, repeat=3)
    cold = JobRun(call=None, path=_job_dir(tmp_path / "cold", 0, COLD))

    class Wall:
        wall = 100.0
    cold.call = Wall()
    over, rerun = m_jobs.reruns(ctx, cold, rerun=True, overhead=True)
    assert over.verdict().startswith("FAILED: no 'results:' line from bash")
    assert len(rerun.samples) == 3 and rerun.status == "measured"
    assert sum(c["argv"][0] == "bash" for c in fake.runner.calls) == 1   # not retried
