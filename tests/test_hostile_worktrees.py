"""Each job owns its worktree (issue 25): the worktree path carries the patches
applied (--upto, --skip-patch), a job holds the worktree's lock for its whole
lifetime (not only while it applies), and a `git am` left behind by a killed
apply is found and cleaned on the next apply."""
from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from pathlib import Path

import harness
from patches import worktree as wtmod
from patches.apply import ApplyRequest, apply_series
from test_patches_apply import demo  # noqa: F401
from test_patches_common import cache, git, runner  # noqa: F401


def test_an_upto_apply_does_not_reset_a_finished_full_apply(demo, capsys):  # noqa: F811
    assert harness.main(["apply", "demo@v1"]) == 0
    full = apply_series(ApplyRequest("demo", "v1"), _runner())
    assert full.reused
    assert harness.main(["apply", "demo@v1", "--upto", "1"]) == 0
    out = capsys.readouterr().out
    one = apply_series(ApplyRequest("demo", "v1", upto=1), _runner())
    assert one.worktree != full.worktree and ".upto-1" in one.worktree.name
    assert str(one.worktree) in out
    assert git(full.worktree, "rev-parse", "HEAD").strip() == full.head
    assert (full.worktree / "kernel/bpf/path_iter.c").is_file()
    assert apply_series(ApplyRequest("demo", "v1"), _runner()).reused


def test_upto_of_every_patch_is_the_full_worktree(demo):  # noqa: F811
    full = apply_series(ApplyRequest("demo", "v1"), _runner())
    assert apply_series(ApplyRequest("demo", "v1", upto=2), _runner()).worktree == full.worktree
    skip = apply_series(ApplyRequest("demo", "v1", skip=1), _runner())
    assert skip.worktree.name == "v1.skip-1" and len(skip.patches) == 1


def _runner():
    from common.proc import Runner
    return Runner()


def _change_subject(d, label: str) -> None:
    p = sorted((d / label).glob("0002-*.patch"))[0]
    p.write_text(p.read_text().replace("bpf: add a path iterator", "bpf: add the path iterator"))


def test_a_job_holds_its_worktree_until_it_ends(demo):  # noqa: F811
    _, d = demo
    stack = contextlib.ExitStack()
    mine = apply_series(ApplyRequest("demo", "v1"), _runner(), hold=stack)
    assert wtmod.in_use(mine.worktree)
    _change_subject(d, "v1")                # another job wants other content there
    other = {}
    t = threading.Thread(target=lambda: other.update(
        res=apply_series(ApplyRequest("demo", "v1"), _runner())))
    t.start()
    time.sleep(1.0)
    assert "res" not in other               # it waits for the running job
    assert git(mine.worktree, "rev-parse", "HEAD").strip() == mine.head
    stack.close()
    t.join(60)
    assert other["res"].patches[1].subject == "bpf: add the path iterator"
    assert not wtmod.in_use(mine.worktree)


def test_a_run_holds_the_worktree_through_its_later_stages(demo, monkeypatch, tmp_path):  # noqa: F811
    import pipeline.stages
    from pipeline.context import StageReport
    seen = []

    def later(ctx):
        seen.append(wtmod.in_use(ctx.worktree))
        return StageReport()
    monkeypatch.setattr(pipeline.stages, "STAGES",
                        [("apply", pipeline.stages.stage_apply), ("build", later)])
    code = harness.main(["run", "demo@v1", "--tree", "fake", "--profile", "small",
                         "--results", str(tmp_path / "r")])
    assert code == 0 and seen == [True]
    wt = wtmod.worktree_path("fake", "demo", "v1")
    assert not wtmod.in_use(wt)


def test_a_git_am_left_by_a_killed_apply_is_cleaned(demo, capsys):  # noqa: F811
    repo, d = demo
    assert harness.main(["apply", "demo@v1"]) == 0
    wt = wtmod.worktree_path("fake", "demo", "v1")
    # what a killed apply leaves: a git am stopped half-way
    p = sorted((d / "v2").glob("0002-*.patch"))[0]
    res = subprocess.run(["git", "am", "--3way", str(p)], cwd=wt,
                                       capture_output=True, text=True)
    assert res.returncode != 0
    gitdir = git(wt, "rev-parse", "--absolute-git-dir").strip()
    assert (Path(gitdir) / "rebase-apply").is_dir()
    capsys.readouterr()
    assert harness.main(["apply", "demo@v1"]) == 0
    err = capsys.readouterr().err
    assert "git am left by an interrupted apply was aborted" in err
    assert not (Path(gitdir) / "rebase-apply").exists()
    assert git(wt, "status", "--porcelain") == ""
