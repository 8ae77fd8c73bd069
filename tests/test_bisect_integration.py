"""Bisect a real small-kernel fixture series under TCG: patch 3 of kharness-fixture@v2
breaks kernel_facts/release_ok."""
import io
import json

import pytest

import harness
from bisection.criteria import parse_criterion
from bisection.drivers import bisect_patches
from bisection.flow import SearchOptions
from common.progress import Progress
from common.proc import Runner
from pipeline.job import JobSpec
from pipeline.run import run_job
from pipeline.stages import STAGES

pytestmark = pytest.mark.integration


def test_bisect_finds_the_breaking_patch(default_tree, small_kernel, tmp_path):
    runner, progress = Runner(), Progress(stream=io.StringIO())

    def run(spec):
        return run_job(spec, STAGES, runner, progress, tmp_path / "jobs", run_id="b")
    base = JobSpec(profile="small", suites=["kharness-fixture"])
    crit = parse_criterion("test:kharness-fixture/release_ok")
    result, cands, summary, _ = bisect_patches("kharness-fixture", "v2", crit, run, base,
                                               tmp_path, SearchOptions(tries=1, confirm=1),
                                               good=1)
    assert result.status == "found", summary
    assert cands[result.first_bad].upto == 3
    assert "kbuild: mark the fixture kernel's release as broken" in summary
    assert "release_ok failed" in summary
    assert "confirmation: confirmed" in summary
    assert (tmp_path / "bisect.log").read_text().count("step ") == len(result.steps)


FLAKY = ["bisect", "kharness-fixture@v8", "--profile", "small", "--suite", "kharness-fixture",
         "--criterion", "test:kharness-fixture/release_ok", "--good", "1",
         "--flake-rate", "0.9", "--confidence", "0.95", "--confirm", "2"]


def test_adaptive_bisect_of_a_flaky_patch_is_confirmed(default_tree, tmp_path, capsys):
    """kharness-fixture@v8's patch 3 breaks release_ok on about 9 boots in 10 (a random
    byte drawn at boot). The probabilistic search needs two passing boots of 2 patches
    to hold 3 patches at >= 0.95 (1 / (1 + 0.1^2) = 0.99), then the culprit must fail
    at least once in 2 boots (it fails in neither with probability 0.01) and the last
    good step, which is also the series without patch 3, pass both: 6 boots."""
    code = harness.main([*FLAKY, "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "first bad: 3 patches: time: break the release on most boots, at random" in out
    assert "flake model: p=0.9" in out
    top = out.split("top candidates:\n", 1)[1].splitlines()[0].split()
    assert float(top[0]) >= 0.95 and top[1:3] == ["3", "patches:"]
    assert "confirmation: confirmed" in out
    doc = json.loads(next(tmp_path.rglob("bisect.json")).read_text())
    checks = doc["confirmation"]["checks"]
    assert [c["expect"] for c in checks] == ["bad", "good"]
    assert checks[0]["fails"] >= 1 and checks[1]["fails"] == 0
