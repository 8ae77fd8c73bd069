"""Measurements 10 and 11 (a cold and a cached `make test`): the Makefile's command,
the cold cache, the figures against 90 and 8 minutes, the per-job breakdown in
results.json and results.md, on a fake harness that plays `harness.py matrix` by
writing job summaries (no kernel, no VM)."""
from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import bench.driver
from bench.context import Steps
from bench.m_maketest import MAKEFILE, breakdown, make_test_args, read_jobs
from bench.run import BenchRequest, run_bench
from common.errors import InputError
from common.fsutil import REPO_ROOT
from common.proc import FakeRunner

JOBS = ("baseline", "path-iterator@v5.1-6.12", "fanotify-bpf@v2-6.12",
        "iter-pagecache@v2-6.12")


class Clock:
    def __init__(self):
        self.t = 1000.0

    def monotonic(self):
        return self.t


def write_job(root: Path, n: int, job: str, cached: bool, rc: int = 0) -> Path:
    """One job's results as the harness leaves them: summary.json with the six
    stages and, for a real build, build/build.log with its CC lines."""
    d = root / "20261127-130000-default" / job.replace("@", "/") / "bpf-gcc-x"
    d.mkdir(parents=True)
    build = 0.2 if cached else 600.0 + 100 * n
    stages = [("apply", "cached" if cached else "ok", 3.0), ("config", "ok", 11.0),
              ("build", "cached" if cached else "ok", build),
              ("selftests-build", "cached" if cached else "ok", 1.0 if cached else 380.0),
              ("boot", "ok", 40.0), ("test", "failed" if rc else "ok", 20.0 + n)]
    wall = int(sum(s[2] for s in stages)) + 1
    (d / "summary.json").write_text(json.dumps({
        "job": job, "exit_code": rc, "state": "complete",
        "started": f"2026-11-27T13:{n:02d}:00+00:00",
        "ended": f"2026-11-27T{13 + (n * 60 + wall) // 3600}:"
                 f"{(n * 60 + wall) // 60 % 60:02d}:{wall % 60:02d}+00:00",
        "stages": [{"name": s, "status": st, "duration": t} for s, st, t in stages]}))
    (d / "build").mkdir()
    (d / "build" / "build.log").write_text(
        "".join(f"  CC      obj{i}.o\n" for i in range(1000 + n)) + "  LD      vmlinux\n")
    return d


class FakeMake:
    """Plays the harness for 10/11: each `harness.py matrix` call writes the four
    jobs' summaries under its HARNESS_RESULTS (cold: real builds; the next call:
    cached ones) and takes `minutes` of the fake clock; it notes what the private
    cache held when it started."""

    def __init__(self, clock, minutes=(100.0, 5.0), rc=(0, 0), warm=False):
        self.clock, self.minutes, self.rc = clock, list(minutes), list(rc)
        self.warm = warm                                # the first call finds builds too
        self.seen: list[dict] = []
        self.runner = r = FakeRunner()
        r.on(lambda a: a[:2] == ["git", "clone"],
             effect=lambda a: Path(a[-1]).mkdir(parents=True))
        r.on(lambda a: a[:2] == ["git", "-C"], stdout="abc123\n")
        r.on(lambda a: "harness.py" in " ".join(a), stdout="matrix done\n")
        plain = r.run
        r.run = lambda argv, **kw: self._answer(plain, argv, kw)

    def _answer(self, plain, argv, kw):
        res = plain(argv, **kw)
        if "harness.py" in " ".join(map(str, argv)):
            self._matrix(kw["env"])
            res.returncode = self.rc[len(self.seen) - 1]
        return res

    def _matrix(self, env):
        cache, results = Path(env["HARNESS_CACHE"]), Path(env["HARNESS_RESULTS"])
        cached = bool(self.seen) or self.warm
        self.seen.append({"cache": sorted(str(p.relative_to(cache))
                                          for p in cache.rglob("*")), "env": env})
        for n, job in enumerate(JOBS):
            write_job(results, n, job, cached, rc=self.rc[len(self.seen) - 1] if n == 2
                      else 0)
        (cache / "kbuild").mkdir(exist_ok=True)       # what the cold run leaves
        self.clock.t += 60.0 * self.minutes[len(self.seen) - 1]


@pytest.fixture
def clock(tmp_path, monkeypatch):
    user = tmp_path / "user-cache" / "trees" / "debian-6.12"
    user.mkdir(parents=True)
    (user / "kharness-tree.json").write_text('{"name": "debian-6.12"}')
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "user-cache"))
    c = Clock()
    monkeypatch.setattr(bench.driver, "time", SimpleNamespace(monotonic=c.monotonic))
    return c


def _bench(tmp_path, fake, only=(10, 11), out=None):
    stale = tmp_path / "out" / "cache" / "ccache" / "stale.o"
    stale.parent.mkdir(parents=True)
    stale.write_text("x")
    req = BenchRequest(only=only, out=tmp_path / "out", json_path=tmp_path / "r.json",
                       md_path=tmp_path / "r.md")
    return run_bench(req, fake.runner, Steps(out or io.StringIO()))


def test_the_command_is_the_makefiles_test_recipe():
    assert make_test_args(MAKEFILE) == ["matrix", "pipeline/matrices/default.yaml"]


@pytest.mark.parametrize("text,msg", [
    ("check:\n\t$(PY) -m pytest\n", "no `test:` rule"),
    ("test: setup\n\techo hi\n\nx:\n\t$(PY) harness.py run\n", "runs no harness.py"),
    ("test: setup\n\t$(PY) harness.py matrix $(MATRIX)\n", "cannot resolve them"),
])
def test_a_test_recipe_the_bench_cannot_follow_is_an_input_error(tmp_path, text, msg):
    mk = tmp_path / "Makefile"
    mk.write_text(text)
    with pytest.raises(InputError, match=msg) as e:
        make_test_args(mk)
    assert str(mk) in str(e.value)


def test_cold_then_cached_make_test(tmp_path, clock):
    fake = FakeMake(clock, minutes=(100.0, 5.0))
    res = _bench(tmp_path, fake)
    cold_call, cached_call = fake.seen
    # cold: the stale ccache is gone, only the re-cloned tree is there
    assert cold_call["cache"] == ["trees", "trees/debian-6.12",
                                  "trees/debian-6.12/kharness-tree.json"]
    assert "kbuild" in cached_call["cache"]             # the cached run keeps the cache
    calls = [c for c in fake.runner.calls if "harness.py" in " ".join(c["argv"])]
    assert [c["argv"] for c in calls] == [[sys.executable, str(REPO_ROOT / "harness.py"),
                                           "matrix", "pipeline/matrices/default.yaml"]] * 2
    assert all(c["timeout"] == 8 * 3600 for c in calls)    # longer than the 3 h job limit
    envs = [c["env"] for c in fake.seen]
    assert [Path(e["HARNESS_RESULTS"]).name for e in envs] == ["cold", "cached"]
    assert all(e["KHARNESS_CCACHE_REMOTE"] == "" and
               e["HARNESS_CACHE"] == str(tmp_path / "out" / "cache") for e in envs)
    ten, eleven = res.figures
    assert (ten.id, ten.value, ten.unit, ten.verdict()) == ("10", 100.0, "min", "MISSED")
    assert (eleven.id, eleven.value, eleven.verdict()) == ("11", 5.0, "met")
    assert [f.id for f in res.missed] == ["10"]


def test_a_cold_run_within_90_minutes_is_met_and_a_slow_rerun_missed(tmp_path, clock):
    out = io.StringIO()
    res = _bench(tmp_path, FakeMake(clock, minutes=(89.5, 8.5)), out=out)
    assert [f.verdict() for f in res.figures] == ["met", "MISSED"]
    text = out.getvalue()
    assert "cold `make test`: 89.5 min, exit 0" in text
    assert " 11  cached `make test` rerun: wall time (absolute, minutes): 8.5 min  [MISSED]" \
        in text


def test_results_carry_the_per_job_breakdown(tmp_path, clock):
    _bench(tmp_path, FakeMake(clock))
    doc = json.loads((tmp_path / "r.json").read_text())
    ten = doc["figures"][0]
    jobs = ten["raw"]["run"]["jobs"]
    assert [j["job"] for j in jobs] == list(JOBS)               # in the order they started
    assert jobs[1]["stages"]["build"] == {"status": "ok", "duration": 700.0}
    assert jobs[1]["cc_objects"] == 1001 and jobs[1]["wall"] == 1156.0
    cached = doc["figures"][1]["raw"]["run"]["jobs"]
    assert cached[1]["cc_objects"] == 0 and cached[1]["stages"]["build"]["status"] == "cached"
    md = (tmp_path / "r.md").read_text()
    row10 = next(ln for ln in md.splitlines() if ln.startswith("| 10 |"))
    assert "| 100 min | n=1 | <= 90 | MISSED |" in row10 and "absolute figure" in row10
    assert "| 11 | cached `make test` rerun" in md and "| 5 min | n=1 | <= 8 | met |" in md
    assert "Figure 10, cold `make test`: per-job stages:" in md
    assert ("| path-iterator@v5.1-6.12 | 3.0 s | 11.0 s | 700.0 s | 380.0 s | 40.0 s | "
            "21.0 s | 1156 s | 1001 | 0 |") in md
    assert ("| path-iterator@v5.1-6.12 | 3.0 s (cached) | 11.0 s | 0.2 s (cached) | "
            "1.0 s (cached) | 40.0 s | 21.0 s |") in md
    assert "| all jobs | 12.0 s | 44.0 s | 3000.0 s | 1520.0 s | 160.0 s | 86.0 s |" in md


def test_a_test_verdict_is_measured_and_said(tmp_path, clock):
    res = _bench(tmp_path, FakeMake(clock, rc=(1, 1)))
    ten = res.figures[0]
    assert ten.status == "measured"
    assert "matrix exit 1: a test verdict failed" in ten.notes[1]
    row = next(ln for ln in ten.raw["tables"][0]["markdown"].splitlines()
               if ln.startswith("| fanotify-bpf@v2-6.12 |"))
    assert "| 22.0 s (failed) |" in row and row.endswith("| 1 |")


def test_a_job_that_fails_to_build_fails_both_figures(tmp_path, clock):
    res = _bench(tmp_path, FakeMake(clock, rc=(5, 0)))
    assert [f.id for f in res.figures] == ["10", "11"]
    for f in res.figures:
        assert f.verdict().startswith("FAILED: the cold `make test` (matrix "
                                      "pipeline/matrices/default.yaml) ended with exit 5")
        assert "fanotify-bpf@v2-6.12 exit 5" in f.reason
    ten, eleven = res.figures                  # the failed cold run keeps its stages
    assert ten.raw["run"]["exit_code"] == 5 and len(ten.raw["run"]["jobs"]) == 4
    assert "| fanotify-bpf@v2-6.12 |" in ten.raw["tables"][0]["markdown"]
    assert eleven.raw == {}                    # the cached run never ran
    md = (tmp_path / "r.md").read_text()
    assert "Figure 10, cold `make test`: per-job stages:" in md


def test_only_10_runs_make_test_once(tmp_path, clock):
    fake = FakeMake(clock)
    res = _bench(tmp_path, fake, only=(10,))
    assert len(fake.seen) == 1 and [f.id for f in res.figures] == ["10"]


def test_breakdown_marks_missing_stages_and_counts(tmp_path):
    d = write_job(tmp_path, 0, "baseline", cached=False)
    (d / "build" / "build.log").unlink()
    summary = json.loads((d / "summary.json").read_text())
    summary["stages"] = summary["stages"][:3]                  # stopped after build
    (d / "summary.json").write_text(json.dumps(summary))
    jobs = read_jobs(tmp_path)
    assert jobs[0].cc_objects is None and "boot" not in jobs[0].stages
    run = SimpleNamespace(jobs=jobs, exit_code=5)
    row = breakdown(run).splitlines()[2]
    assert row.startswith("| baseline | 3.0 s | 11.0 s | 600.0 s | - | - | - |")
    assert row.endswith("| - | 0 |")


def test_the_build_stage_count_is_read_before_the_build_log(tmp_path):
    """A summary whose build stage recorded `objects.compiled` (what kbuild's watcher
    counted) gives that count, not the log's CC lines (1000 here)."""
    d = write_job(tmp_path, 0, "baseline", cached=False)
    summary = json.loads((d / "summary.json").read_text())
    summary["stages"][2]["data"] = {"objects": {"predicted": 1700, "compiled": 1709}}
    (d / "summary.json").write_text(json.dumps(summary))
    assert read_jobs(tmp_path)[0].cc_objects == 1709


def test_only_11_reruns_on_the_cache_an_earlier_run_left(tmp_path, clock):
    done = tmp_path / "out" / "cache" / "kbuild" / "artifacts" / "k1" / "complete"
    done.parent.mkdir(parents=True)
    done.write_text("")
    fake = FakeMake(clock, minutes=(6.5,), warm=True)
    res = _bench(tmp_path, fake, only=(11,))
    assert len(fake.seen) == 1
    assert "ccache/stale.o" in fake.seen[0]["cache"]       # not reset: no cold run
    assert Path(fake.seen[0]["env"]["HARNESS_RESULTS"]).name == "cached"
    (eleven,) = res.figures
    assert (eleven.id, eleven.value, eleven.verdict()) == ("11", 6.5, "met")
    assert "as an earlier run (not recorded) left it (--only 11" in eleven.notes[0]


def test_only_11_names_the_cold_run_that_left_the_cache(tmp_path, clock):
    """--only 10 records itself in the private cache; a later --only 11 says which
    commit's cold run (when, how long, its exit) left what it measures."""
    _bench(tmp_path, FakeMake(clock, minutes=(80.0,)), only=(10,))
    done = tmp_path / "out" / "cache" / "kbuild" / "artifacts" / "k1" / "complete"
    done.parent.mkdir(parents=True)
    done.write_text("")
    res = _bench(tmp_path, FakeMake(clock, minutes=(6.5,), warm=True), only=(11,))
    (eleven,) = res.figures
    assert eleven.notes[0].startswith("the same command on the private cache as the cold "
                                      "run of commit abc123 that ended ")
    assert "(80.0 min, exit 0) left it (--only 11" in eleven.notes[0]


def test_only_11_on_a_cache_with_no_finished_build_is_refused(tmp_path, clock):
    fake = FakeMake(clock)
    res = _bench(tmp_path, fake, only=(11,))
    assert fake.seen == []                                  # make test never ran
    (eleven,) = res.figures
    assert eleven.verdict().startswith("FAILED")
    assert "holds no finished build" in eleven.reason
