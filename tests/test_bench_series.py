"""Measurement 3 split in two: 3a (a second series that edits no widely included
header, against the cold build) and 3b (one that does, against the time the
harness's own remake count predicts), through run_bench on a fake harness that
plays `harness.py run` (no kernel, no VM)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bench.context import Steps
from bench.m_jobs import SERIES_A, SERIES_B, SERIES_SMALL, predicted_remakes
from bench.run import BenchRequest, run_bench
from common.errors import InfraError
from common.proc import FakeRunner

# per series: build stage seconds, CC lines in its build log, what the harness prints
BUILDS = {SERIES_A: (500.0, 100, ""),
          SERIES_SMALL: (50.0, 12, ""),
          SERIES_B: (300.0, 75, "[build] sources: 9 changed of 80000 files marked for make\n"
                                "[build] 12/80 objects, ETA 4m\n[build] 70/80 objects, "
                                "ETA 30s\n[build] ok in 5m 0s\n")}
CHANGED = "Makefile\nfs/namei.c\ninclude/linux/namei.h\nkernel/time/time.c\n"


class FakeJobs:
    """`harness.py run SERIES ...` leaves a job dir (summary, manifest, build log)
    and prints what the harness prints; git and ccache answer as needed."""

    def __init__(self, tmp_path: Path, builds=BUILDS, fail=()):
        self.root, self.builds, self.order = tmp_path / "jobs", dict(builds), []
        self.fail = set(fail)                   # series whose build fails (exit 5)
        self.runner = r = FakeRunner()
        r.on(lambda a: a[:2] == ["git", "clone"],
             effect=lambda a: Path(a[-1]).mkdir(parents=True))
        r.on(lambda a: a[:2] == ["git", "-C"], stdout="abc123\n")
        r.on(lambda a: a[:2] == ["git", "--git-dir"], stdout=CHANGED)
        r.on(lambda a: a[:2] == ["ccache", "--print-stats"], stdout="cache_miss\t3\n")
        r.on(lambda a: len(a) > 2 and a[2] == "run", effect=self._job)
        plain = r.run
        r.run = lambda argv, **kw: self._answer(plain, argv, kw)

    def _job(self, argv):
        series = argv[3]
        self.order.append(series)
        secs, cc, _ = self.builds[series]
        d = self.root / f"{len(self.order)}-{series}"
        (d / "build").mkdir(parents=True)
        bad = series in self.fail
        (d / "summary.json").write_text(json.dumps({"exit_code": 5 if bad else 0, "stages": [
            {"name": "apply", "status": "ok", "duration": 1.0,
             "data": {"head": f"head-{len(self.order)}"}},
            {"name": "build", "status": "failed" if bad else "ok", "duration": secs}]}))
        (d / "manifest.json").write_text("{}")
        (d / "build" / "build.log").write_text(
            "".join(f"  CC      o{i}.o\n" for i in range(cc)))
        self.last = d

    def _answer(self, plain, argv, kw):
        res = plain(argv, **kw)
        if len(argv) > 2 and argv[2] == "run":
            res.stdout = self.builds[argv[3]][2] + f"results: {self.last}\n"
            res.returncode = 5 if argv[3] in self.fail else 0
        return res


@pytest.fixture(autouse=True)
def user_tree(tmp_path, monkeypatch):
    user = tmp_path / "user-cache" / "trees" / "debian-6.12"
    user.mkdir(parents=True)
    (user / "kharness-tree.json").write_text('{"name": "debian-6.12"}')
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "user-cache"))


def _bench(tmp_path, fake):
    req = BenchRequest(only=(3,), out=tmp_path / "out", json_path=tmp_path / "r.json",
                       md_path=tmp_path / "r.md")
    return run_bench(req, fake.runner, Steps(io.StringIO()))


def test_3a_then_3b_after_the_cold_build(tmp_path):
    fake = FakeJobs(tmp_path)
    res = _bench(tmp_path, fake)
    assert fake.order == [SERIES_A, SERIES_SMALL, SERIES_B]     # 3a before 3b's bpf.h
    small, header = res.figures
    assert (small.id, small.value, small.verdict()) == ("3a", 0.1, "met")   # 50 / 500
    # 300 s / (80 predicted objects x 500 s / 100 objects) = 300 / 400
    assert (header.id, header.value, header.verdict()) == ("3b", 0.75, "met")
    assert header.raw["predicted_objects"] == 80 and header.raw["per_object_s"] == 5.0
    assert header.raw["b_cc_objects"] == 75 and header.raw["a_cc_objects"] == 100
    assert "predicted 80 objects x 5.000 s = 400 s; built in 300 s" in header.notes
    rec = small.raw["recompile"]
    assert rec["cc_objects"] == 12 and rec["changed_files"] == CHANGED.split()
    assert rec["changed_c_objects"] == ["fs/namei.o", "kernel/time/time.o"]


def test_3a_and_3b_miss_their_targets_and_print_separately(tmp_path):
    builds = dict(BUILDS)
    builds[SERIES_SMALL] = (150.0, 12, "")
    builds[SERIES_B] = (470.0, 75, "[build] 30/80 objects, ETA 4m\n")
    res = _bench(tmp_path, FakeJobs(tmp_path, builds))
    assert [(f.id, round(f.value, 4), f.verdict()) for f in res.figures] == [
        ("3a", 0.3, "MISSED"), ("3b", 1.175, "MISSED")]
    md = (tmp_path / "r.md").read_text()
    assert "| 3a | second series, no widely included header edited | 0.300 | n=1 | " \
           "<= 0.25 | MISSED |" in md
    assert "| 3b | second series editing a widely included header, against its " \
           "predicted time | 1.175 | n=1 | <= 1.15 | MISSED |" in md


def test_3b_without_the_harness_count_fails_alone(tmp_path):
    builds = dict(BUILDS)
    builds[SERIES_B] = (20.0, 75, "[build] ok in 20.0s\n")     # shorter than 30 s
    res = _bench(tmp_path, FakeJobs(tmp_path, builds))
    small, header = res.figures
    assert small.verdict() == "met"
    assert header.id == "3b" and header.verdict().startswith(
        "FAILED: the harness printed no build counter line")


def test_a_failed_cold_build_fails_both_3a_and_3b(tmp_path):
    fake = FakeJobs(tmp_path, fail={SERIES_A})
    res = _bench(tmp_path, fake)
    assert fake.order == [SERIES_A]
    assert [f.id for f in res.figures] == ["3a", "3b"]
    assert all(f.status == "failed" and "(build failed)" in f.reason for f in res.figures)
    assert [f.target.value for f in res.figures] == [0.25, 1.15]


def test_predicted_remakes_reads_the_first_counter_line():
    out = "[selftests-build] 5/9 objects\n[build] 40/1055 objects, ETA 7m\n" \
          "[build] 1100/1100 objects\n"
    assert predicted_remakes(out) == (1055, "[build] 40/1055 objects")
    with pytest.raises(InfraError, match="no build counter line"):
        predicted_remakes("[build] 40 objects\n")


def test_predicted_remakes_prefers_the_build_stage_record():
    """A summary written since the build result records its counts says what the
    harness predicted; the counter line is only the fallback for older ones."""
    stage = {"name": "build", "data": {"objects": {"predicted": 2611, "compiled": 2613}}}
    assert predicted_remakes("[build] 77/2600 objects\n", stage) == (
        2611, "summary.json: build stage objects.predicted")
    no_record = {"name": "build", "data": {"objects": {"predicted": None, "compiled": 9}}}
    assert predicted_remakes("[build] 77/2600 objects\n", no_record)[0] == 2600
