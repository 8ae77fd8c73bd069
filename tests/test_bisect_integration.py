"""Bisect a real small-kernel fixture series under TCG: patch 3 of kharness-fixture@v2
breaks kernel_facts/release_ok."""
import io

import pytest

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
