"""New warnings, end to end on the small fixture kernel: the job table shows the one
warning kharness-fixture@v3 adds (with the robot's >> line), and a warning bisect
over whole incremental builds, with no --target, finds its patch although the last
step does not recompile that object."""
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
WARNING = "kernel/time/timeconv.c:54:13: warning: unused variable"   # gcc quotes the name



def test_run_new_warnings_shows_new_warn_1(default_tree, small_kernel, tmp_path, capsys):
    code = harness.main(["run", "kharness-fixture@v3", "--profile", "small", "--suite",
                         "kharness-fixture", "--new-warnings", "--results", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    job = next(tmp_path.rglob("kharness-fixture/v3/*/summary.json")).parent
    build = next(s for s in json.loads((job / "summary.json").read_text())["stages"]
                 if s["name"] == "build")
    assert build["data"]["new_warnings"] == 1
    assert f">> {WARNING}" in (job / "build" / "warnings.txt").read_text()
    assert "kharness_unused" in (job / "build" / "warnings.txt").read_text()
    assert f"  >> {WARNING}" in out                      # the table's report, robot style
    header, _, row = out.splitlines()[:3]
    assert row.split()[header.split().index("new")] == "1"


def test_warning_bisect_without_target_finds_the_patch(default_tree, small_kernel, tmp_path):
    crit = parse_criterion("warning:kharness_unused")
    runner, progress = Runner(), Progress(stream=io.StringIO())

    def run(spec):
        return run_job(spec, crit.stages(STAGES), runner, progress, tmp_path / "jobs",
                       run_id="w")
    result, cands, summary, _ = bisect_patches("kharness-fixture", "v3", crit, run,
                                               JobSpec(profile="small"), tmp_path,
                                               SearchOptions(tries=1, confirm=1), good=2)
    assert result.status == "found", summary
    assert cands[result.first_bad].upto == 3
    assert "kharness_unused" in summary
