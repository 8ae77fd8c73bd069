"""Exit codes a user and `git bisect run` can trust, through the commands typed:
a harness bug is an infrastructure error (7; 128 in bisect-step), never a verdict;
bisect-commits' steps build exactly the job asked for."""
import json
import subprocess

import pytest

import harness
from common.cli import run_guarded
from pipeline.context import StageReport


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


@pytest.fixture
def checkout(tmp_path):
    repo = tmp_path / "linux"
    repo.mkdir()
    for argv in (["init", "-q"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                                  "--allow-empty", "-m", "base"]):
        subprocess.run(["git", "-C", str(repo), *argv], check=True)
    return repo


def fake_stages(monkeypatch, fn):
    import pipeline.stages
    monkeypatch.setattr(pipeline.stages, "STAGES", [("apply", fn)])


def buggy(ctx):
    return {}["no such key"]


def test_run_with_a_harness_bug_exits_7_and_keeps_the_traceback(results, monkeypatch):
    fake_stages(monkeypatch, buggy)
    code = harness.main(["run", "--base-only", "--profile", "small", "--results", str(results)])
    assert code == 7
    tb = next(results.rglob("apply.traceback.txt")).read_text()
    assert "KeyError" in tb and "buggy" in tb
    summary = json.loads(next(results.rglob("summary.json")).read_text())
    assert summary["exit_code"] == 7


def test_an_unexpected_exception_outside_a_job_is_7_with_a_crash_file(results, capsys):
    assert run_guarded("harness", lambda: [][1]) == 7
    assert "internal error: IndexError" in capsys.readouterr().err
    assert "IndexError" in next((results / "crashes").iterdir()).read_text()


def test_bisect_over_one_revision_is_a_usage_error(results, capsys):
    code = harness.main(["bisect", "kharness-fixture", "--revs", "v1", "--criterion", "build",
                         "--profile", "small"])
    assert code == 2
    assert "needs two or more" in capsys.readouterr().err


@pytest.mark.parametrize("stage", [buggy, lambda ctx: (_ for _ in ()).throw(OSError(5, "EIO"))])
def test_bisect_step_aborts_on_infrastructure_failures(stage, results, checkout, monkeypatch):
    fake_stages(monkeypatch, stage)
    code = harness.main(["bisect-step", "--base-only", "--worktree", str(checkout),
                         "--profile", "small", "--criterion", "build", "--tries", "1",
                         "--results", str(results)])
    assert code == 128


def test_bisect_step_input_error_aborts(results, checkout):
    code = harness.main(["bisect-step", "--base-only", "--worktree", str(checkout),
                         "--profile", "nosuch", "--criterion", "build"])
    assert code == 128


def test_bisect_commits_steps_build_the_job_asked_for(results, checkout, monkeypatch):
    """The step command bisect-commits gives `git bisect run` carries the make
    flags, targets, fragments, allowed drops and the series; run as git would,
    the step's manifest shows them."""
    import bisection.drivers
    seen = {}

    def fake_bisect(repo, good, bad, step, runner, out):
        seen["step"] = step
        return None, ""
    monkeypatch.setattr(bisection.drivers, "bisect_commits", fake_bisect)
    code = harness.main(["bisect-commits", "HEAD", "HEAD", "kharness-fixture@v1",
                         "--repo", str(checkout), "--profile", "small", "--make-flag", "W=1",
                         "--target", "fs/namei.o", "--fragment", "vm", "--allow-drop", "FOO",
                         "--criterion", "warning:unused", "--results", str(results)])
    assert code == 1                                     # no first bad commit (faked)
    step = seen["step"]
    i = step.index("bisect-step")
    fake_stages(monkeypatch, lambda ctx: StageReport("applied"))
    assert harness.main(step[i:]) == 0                   # good: no warning (no build)
    manifest = json.loads(next((results).rglob("steps/**/manifest.json")).read_text())
    job = manifest["job"]
    assert job["make_flags"] == ["W=1"] and job["targets"] == ["fs/namei.o"]
    assert job["fragments"] == ["vm"] and job["allow_drop"] == ["FOO"]
    assert (job["series"], job["rev"], job["worktree"]) == ("kharness-fixture", "v1",
                                                            str(checkout))
