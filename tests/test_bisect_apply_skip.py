"""The apply stage leaves one patch out (a bisect's confirmation: the series
without its culprit), and says so when the rest then does not apply."""
from __future__ import annotations

import pytest

from common.errors import ApplyError, InputError
from patches.apply import ApplyRequest, apply_series
from patches.treeimport import ImportRequest, import_tree
from test_patches_common import (cache, commit, demo_commits, edit, format_patches,  # noqa: F401
                                 git, git_repo, runner, write_manifest)


def rev(label: str) -> dict:
    return {"version": label, "date": "2025-01-02", "message_id": f"{label}@example.org",
            "base": {"tree": "fake", "ref": "v6.12.117"}, "patches": 2}


@pytest.fixture
def series(tmp_path, cache, runner):
    """v1: two independent patches; v2: patch 2 edits the line patch 1 wrote."""
    repo = git_repo(tmp_path / "k")
    import_tree(ImportRequest(str(repo), ref="v6.12.117", name="fake"), runner)
    d = write_manifest(cache, "skipdemo", [rev("v1"), rev("v2")])
    git(repo, "checkout", "-q", "-b", "v1", "v6.12.117")
    demo_commits(repo, "v1")
    format_patches(repo, "v6.12.117..v1", d / "v1")
    git(repo, "checkout", "-q", "-b", "v2", "v6.12.117")
    edit(repo, "fs/namei.c", "int namei_5;\n", "int namei_5 = 5;\n")
    commit(repo, "fs: give namei_5 a value")
    edit(repo, "fs/namei.c", "int namei_5 = 5;\n", "int namei_5 = 6;\n")
    commit(repo, "fs: change namei_5's value")
    format_patches(repo, "v6.12.117..v2", d / "v2")
    git(repo, "checkout", "-q", "main")


def test_skip_leaves_the_patch_out_and_keeps_the_numbers(series, runner):
    res = apply_series(ApplyRequest("skipdemo", "v1", skip=1), runner)
    assert res.status == "applied" and res.skip == 1
    assert [(p.index, p.subject) for p in res.patches] == [(2, "bpf: add a path iterator")]
    assert "int namei_5;" in (res.worktree / "fs/namei.c").read_text()
    full = apply_series(ApplyRequest("skipdemo", "v1"), runner)
    assert not full.reused and len(full.patches) == 2


def test_skip_with_a_later_patch_that_needs_it_fails_to_apply(series, runner):
    with pytest.raises(ApplyError, match="patch 2 .* does not apply"):
        apply_series(ApplyRequest("skipdemo", "v2", skip=1), runner)


def test_skip_outside_the_applied_patches_is_an_input_error(series, runner):
    with pytest.raises(InputError, match="skip patch 2: skipdemo@v1 applies 1 patches"):
        apply_series(ApplyRequest("skipdemo", "v1", upto=1, skip=2), runner)
