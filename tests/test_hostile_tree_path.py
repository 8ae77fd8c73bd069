"""`--tree PATH` is explicit (issue 25): a user's git checkout is used in place
(the series applied on its HEAD in a git worktree of it), never silently copied
into the cache, and the job says so; any other path or a URL is refused with the
`tree import` to run (a copy, asked for); the tree name every cache path is made
from is then a plain name."""
from __future__ import annotations

import harness
import pipeline.stages
from pipeline.context import StageReport
from test_patches_apply import demo  # noqa: F401
from test_patches_common import cache, git, runner  # noqa: F401


def only_apply(monkeypatch, seen):
    def look(ctx):
        seen.append((ctx.spec.tree, ctx.worktree, ctx.apply))
        return StageReport()
    monkeypatch.setattr(pipeline.stages, "STAGES",
                        [("apply", pipeline.stages.stage_apply), ("build", look)])


def test_a_git_checkout_given_as_tree_is_used_in_place(demo, cache, monkeypatch,  # noqa: F811
                                                       tmp_path, capsys):
    repo, _ = demo
    trees_before = sorted(p.name for p in (cache / "trees").iterdir())
    seen = []
    only_apply(monkeypatch, seen)
    code = harness.main(["run", "demo@v1", "--tree", str(repo), "--profile", "small",
                         "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 0, err
    assert f"--tree {repo}: your git checkout {repo} is used in place" in err
    assert "nothing is copied" in err
    assert sorted(p.name for p in (cache / "trees").iterdir()) == trees_before
    tree, wt, res = seen[0]
    assert tree.startswith("checkout-") and "/" not in tree
    assert wt.is_relative_to(cache / "worktrees" / tree)
    common = git(wt, "rev-parse", "--path-format=absolute", "--git-common-dir").strip()
    assert common == str(repo / ".git")                  # a worktree of the user's repo
    assert res.base_commit == git(repo, "rev-parse", "HEAD").strip()
    assert len(res.patches) == 2 and git(repo, "status", "--porcelain") == ""


def test_a_plain_dir_or_url_as_tree_is_refused_with_the_import_to_run(demo, cache,  # noqa: F811
                                                                      tmp_path, capsys):
    plain = tmp_path / "linux-src"
    (plain / "fs").mkdir(parents=True)
    (plain / "Makefile").write_text("VERSION = 6\n")
    for tree, what in ((str(plain), "not a git checkout"),
                       ("https://example.org/linux.git", "a git URL")):
        code = harness.main(["run", "demo@v1", "--tree", tree, "--profile", "small",
                             "--results", str(tmp_path / "r")])
        err = capsys.readouterr().err
        assert code == 2, err
        assert f"--tree {tree}: {what}" in err and f"harness.py tree import {tree}" in err
    assert sorted(p.name for p in (cache / "trees").iterdir()) == ["fake"]


def test_a_tree_name_that_is_not_a_plain_name_is_refused(demo, tmp_path, capsys):  # noqa: F811
    code = harness.main(["run", "--base-only", "--tree", "../../etc", "--profile", "small",
                         "--results", str(tmp_path / "r")])
    assert code == 2 and "../../etc" in capsys.readouterr().err
