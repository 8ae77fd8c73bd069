"""Apply on a small fake kernel tree: clean, 3-way, conflict report, --upto, quilt,
reuse, fix-ups first, range-diff, and bad input that leaves the tree as it was."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from common.errors import ApplyError, InputError
from patches.apply import ApplyFailed, ApplyRequest, apply_series
from patches.rangediff import RangeDiffRequest, range_diff
from patches.treeimport import ImportRequest, import_tree
from test_patches_common import (cache, commit, demo_commits, edit, format_patches,  # noqa: F401
                                 git, git_repo, path_iter_c, runner, write_manifest)

BASE = {"tree": "fake", "ref": "v6.12.117"}


def rev(label: str, **kw) -> dict:
    d = {"version": label, "date": "2025-01-02", "message_id": f"{label}@example.org",
         "base": dict(BASE)}
    d.update(kw)
    return d


@pytest.fixture
def demo(tmp_path, cache, runner):
    """Tree 'fake' (git import, so 3-way has the blobs) and series 'demo' v1, v2."""
    repo = git_repo(tmp_path / "k")
    import_tree(ImportRequest(str(repo), ref="v6.12.117", name="fake"), runner)
    d = write_manifest(cache, "demo", [rev("v1", patches=2), rev("v2", patches=2)])
    for label in ("v1", "v2"):
        git(repo, "checkout", "-q", "-b", label, "v6.12.117")
        demo_commits(repo, label)
        format_patches(repo, f"v6.12.117..{label}", d / label)
    git(repo, "checkout", "-q", "main")
    return repo, d


def tree_from_branch(repo: Path, runner, name: str, branch: str, change) -> None:
    git(repo, "checkout", "-q", "-b", branch, "v6.12.117")
    change(repo)
    commit(repo, f"{branch} change")
    import_tree(ImportRequest(str(repo), ref=branch, name=name), runner)
    git(repo, "checkout", "-q", "main")


def wt_git(res, *args) -> str:
    return git(res.worktree, *args)


def test_clean_apply_records_each_patch(demo, runner):
    _, d = demo
    res = apply_series(ApplyRequest("demo", "v1"), runner)
    assert [p.status for p in res.patches] == ["clean", "clean"]
    assert [p.subject for p in res.patches] == ["fs: give namei_5 a value",
                                                "bpf: add a path iterator"]
    files = sorted((d / "v1").glob("*.patch"))
    assert [p.sha256 for p in res.patches] == [hashlib.sha256(f.read_bytes()).hexdigest()
                                               for f in files]
    log = wt_git(res, "log", "--format=%H %an %s", "v6.12.117..HEAD").splitlines()
    assert [ln.split()[0] for ln in reversed(log)] == [p.commit for p in res.patches]
    assert all(" Ann " in ln for ln in log)
    assert res.head == res.patches[-1].commit and res.fixup_head == res.base_commit
    assert wt_git(res, "status", "--porcelain") == ""
    assert (res.worktree / "kernel/bpf/path_iter.c").read_text() == path_iter_c("v1")
    assert wt_git(res, "rev-parse", "--abbrev-ref", "HEAD").strip() == "kh/demo/v1"


def test_reuse_and_revisions_side_by_side(demo, runner):
    a = apply_series(ApplyRequest("demo", "v1"), runner)
    b = apply_series(ApplyRequest("demo", "v2"), runner)
    again = apply_series(ApplyRequest("demo", "v1"), runner)
    assert again.reused and not a.reused and again.head == a.head
    assert a.worktree != b.worktree and a.worktree.is_dir() and b.worktree.is_dir()
    assert "long path_iter_depth" in (b.worktree / "kernel/bpf/path_iter.c").read_text()
    assert "int path_iter_depth" in (a.worktree / "kernel/bpf/path_iter.c").read_text()


def test_upto_applies_the_first_k(demo, runner):
    one = apply_series(ApplyRequest("demo", "v1", upto=1), runner)
    assert len(one.patches) == 1 and one.total == 2 and one.upto == 1
    assert not (one.worktree / "kernel/bpf/path_iter.c").exists()
    full = apply_series(ApplyRequest("demo", "v1"), runner)
    assert not full.reused and len(full.patches) == 2
    assert full.patches[0].commit == one.patches[0].commit
    with pytest.raises(InputError, match="has 2 patches"):
        apply_series(ApplyRequest("demo", "v1", upto=3), runner)


def test_three_way_apply(demo, runner):
    repo, _ = demo
    tree_from_branch(repo, runner, "fake-moved", "moved",
                     lambda r: edit(r, "fs/namei.c", "int namei_8;\n", "int namei_8 = 8;\n"))
    res = apply_series(ApplyRequest("demo", "v1", tree="fake-moved"), runner)
    assert [p.status for p in res.patches] == ["3way", "clean"]
    text = (res.worktree / "fs/namei.c").read_text()
    assert "int namei_5 = 5;" in text and "int namei_8 = 8;" in text
    assert res.tree == "fake-moved" and res.base_ref == "base"


def test_conflict_names_patch_file_and_hunk_and_leaves_worktree_clean(demo, runner, cache):
    repo, _ = demo
    tree_from_branch(repo, runner, "fake-conflict", "conflict",
                     lambda r: edit(r, "fs/namei.c", "int namei_25;\n", "int namei_25 = 99;\n"))
    git(repo, "checkout", "-q", "-b", "twohunks", "v6.12.117")
    edit(repo, "fs/namei.c", "int namei_3;\n", "int namei_3 = 3;\n")
    edit(repo, "fs/namei.c", "int namei_25;\n", "int namei_25 = 25;\n")
    commit(repo, "fs: two values")
    d = write_manifest(cache, "hunks", [rev("v1", base={"tree": "fake-conflict"})])
    format_patches(repo, "v6.12.117..twohunks", d / "v1")
    with pytest.raises(ApplyFailed) as e:
        apply_series(ApplyRequest("hunks", "v1"), runner)
    msg = str(e.value)
    assert "patch 1 (0001-fs-two-values.patch: fs: two values) does not apply" in msg
    assert "fs/namei.c: hunk 2 @@ -22,7 +22,7 @@" in msg and "hunk 1" not in msg
    assert e.value.exit_code == 3
    rec = e.value.result.patches[0]
    assert rec.status == "failed" and rec.failed_files == ["fs/namei.c"]
    assert [(h.file, h.hunk) for h in rec.failed_hunks] == [("fs/namei.c", 2)]
    wt = e.value.result.worktree
    assert git(wt, "status", "--porcelain") == ""
    assert not Path(git(wt, "rev-parse", "--git-path", "rebase-apply").strip()).exists() \
        and not (wt / git(wt, "rev-parse", "--git-path", "rebase-apply").strip()).exists()
    assert git(wt, "rev-parse", "HEAD").strip() == e.value.result.base_commit


def test_conflict_in_second_patch_keeps_first(demo, runner):
    repo, _ = demo
    tree_from_branch(repo, runner, "fake-iter", "iterchange",
                     lambda r: edit(r, "kernel/bpf/iter.c", "int iter_20;\n", "int iter_20 = 7;\n"))
    with pytest.raises(ApplyError) as e:
        apply_series(ApplyRequest("demo", "v1", tree="fake-iter"), runner)
    res = e.value.result
    assert [p.status for p in res.patches] == ["clean", "failed"]
    assert "kernel/bpf/iter.c: hunk 1" in str(e.value)
    assert git(res.worktree, "rev-parse", "HEAD").strip() == res.patches[0].commit
    assert not (res.worktree / "kernel/bpf/path_iter.c").exists()
    # a failed apply is not reused: the next one starts again from the base
    ok = apply_series(ApplyRequest("demo", "v1"), runner)
    assert not ok.reused and [p.status for p in ok.patches] == ["clean", "clean"]


def test_quilt_series_subject_from_file_name_author_from_manifest(demo, runner, cache):
    d = write_manifest(cache, "quilted", [rev("r1", source={"quilt": "q/series"})],
                       authors=["Quinn Quilt <quinn@example.org>"])
    q = d / "q"
    (q / "sub").mkdir(parents=True)
    (q / "series").write_text("# applied in this order\n0001-namei-five.patch\n"
                              "sub/fix_iter.diff -p1\n")
    (q / "0001-namei-five.patch").write_text(
        "Give namei_5 a value.\n\n--- a/fs/namei.c\n+++ b/fs/namei.c\n@@ -4,3 +4,3 @@\n"
        " int namei_4;\n-int namei_5;\n+int namei_5 = 5;\n int namei_6;\n")
    (q / "sub/fix_iter.diff").write_text(
        "--- a/kernel/bpf/iter.c\n+++ b/kernel/bpf/iter.c\n@@ -1,2 +1,2 @@\n"
        "-int iter_1;\n+int iter_1 = 1;\n int iter_2;\n")
    res = apply_series(ApplyRequest("quilted", "r1"), runner)
    assert [p.subject for p in res.patches] == ["namei five", "fix iter"]
    log = git(res.worktree, "log", "--reverse", "--format=%an <%ae>|%s|%b", "v6.12.117..")
    entries = [e for e in log.split("\n") if e]
    assert entries[0] == "Quinn Quilt <quinn@example.org>|namei five|Give namei_5 a value."
    assert entries[1].startswith("Quinn Quilt <quinn@example.org>|fix iter|")


def test_range_diff_between_two_revisions(demo, runner):
    res = range_diff(RangeDiffRequest("demo", "v1", "v2"), runner)
    lines = res.text.splitlines()
    assert lines[0].startswith("1:") and " = " in lines[0]
    assert any(ln.startswith("2:") and " ! " in ln for ln in lines), res.text
    assert "long path_iter_depth" in res.text
    with pytest.raises(InputError, match="two different"):
        range_diff(RangeDiffRequest("demo", "v1", "v1"), runner)


def tree_with_fixup(repo, tmp_path, monkeypatch):
    """A tree definition 'fake' whose one fix-up commit adds fixup.txt."""
    git(repo, "checkout", "-q", "-b", "fix", "v6.12.117")
    (repo / "fixup.txt").write_text("made buildable\n")
    commit(repo, "tree: make it build")
    trees = tmp_path / "trees"
    format_patches(repo, "v6.12.117..fix", trees / "fake" / "fixups")
    (trees / "fake" / "tree.yaml").write_text(
        "name: fake\ndescription: test tree\nsource: {apt: none}\nfixups:\n"
        "  - patch: fixups/0001-tree-make-it-build.patch\n    reason: it did not build\n")
    monkeypatch.setattr("patches.treedefs.TREES_DIR", trees)


def test_tree_fixups_go_first(demo, runner, tmp_path, monkeypatch):
    repo, _ = demo
    tree_with_fixup(repo, tmp_path, monkeypatch)
    res = apply_series(ApplyRequest("demo", "v1"), runner)
    assert [f.subject for f in res.fixups] == ["tree: make it build"]
    assert res.fixup_head == res.fixups[0].commit != res.base_commit
    assert git(res.worktree, "rev-list", "--count", f"{res.fixup_head}..HEAD").strip() == "2"
    bare = apply_series(ApplyRequest("demo", "v1", fixups=False), runner)
    assert bare.fixups == [] and not (bare.worktree / "fixup.txt").exists()


# ---- bad input: a clear error, and nothing touched ------------------------------------

def refs(repo: Path) -> str:
    return git(repo, "show-ref")


def assert_untouched(cache: Path, series: str, before: str):
    assert not (cache / "worktrees" / "fake" / series).exists()
    assert refs(cache / "trees" / "fake") == before


def bad_series(cache: Path, name: str, files: dict[str, str], source=None) -> Path:
    d = write_manifest(cache, name, [rev("v1", **({"source": source} if source else {}))])
    for rel, text in files.items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return d


MAIL = ("From 1234567890abcdef Mon Sep 17 00:00:00 2001\nFrom: Ann Dev <ann@example.org>\n"
        "Date: Thu, 2 Jan 2025 03:04:05 +0000\nSubject: [PATCH] {subj}\n\n{body}")


@pytest.mark.parametrize("files,match,line", [
    ({"v1/v1.mbx": ""}, "empty mbox", 1),
    ({"v1/v1.mbx": "Subject: hi\n\nno From_ line\n"}, "malformed mbox", 1),
    ({"v1/0001-x.patch": MAIL.format(subj="words", body="Only words here.\n")},
     "not a diff", None),
    ({"v1/0001-x.patch": MAIL.format(subj="escape", body=(
        "---\ndiff --git a/../../etc/passwd b/../../etc/passwd\n--- a/../../etc/passwd\n"
        "+++ b/../../etc/passwd\n@@ -1 +1 @@\n-root\n+evil\n"))},
     "path outside the tree", 7),
    ({"v1/0001-x;rm -rf ~.patch": MAIL.format(subj="x", body="")},
     "shell metacharacters", None),
    ({"v1/0001-x.patch": MAIL.format(subj="meta", body=(
        "---\ndiff --git a/fs/$(id).c b/fs/$(id).c\n--- a/fs/$(id).c\n+++ b/fs/$(id).c\n"
        "@@ -1 +1 @@\n-a\n+b\n"))},
     "shell metacharacters", 7),
])
def test_bad_patches_are_refused_before_anything_changes(demo, runner, cache, files, match,
                                                         line):
    before = refs(cache / "trees" / "fake")
    bad_series(cache, "bad", files)
    with pytest.raises(InputError, match=match) as e:
        apply_series(ApplyRequest("bad", "v1"), runner)
    assert e.value.path and "/bad/" in e.value.path
    if line is not None:
        assert e.value.line == line
    assert_untouched(cache, "bad", before)


def test_bad_patch_after_good_ones_applies_nothing(demo, runner, cache):
    _, d = demo
    before = refs(cache / "trees" / "fake")
    good = sorted((d / "v1").glob("*.patch"))
    files = {f"v1/{p.name}": p.read_text() for p in good}
    files["v1/0003-bad.patch"] = MAIL.format(subj="bad", body="no diff at all\n")
    bad_series(cache, "late", files)
    with pytest.raises(InputError, match="not a diff"):
        apply_series(ApplyRequest("late", "v1"), runner)
    assert_untouched(cache, "late", before)


def test_base_that_does_not_exist(demo, runner, cache):
    before = refs(cache / "trees" / "fake")
    d = write_manifest(cache, "nobase", [rev("v1", base={"tree": "nope"}),
                                         rev("v2", base={"tree": "fake", "ref": "v9.9"})])
    for label in ("v1", "v2"):
        (d / label).mkdir()
        for p in sorted((cache / "series" / "demo" / "v1").glob("*.patch")):
            (d / label / p.name).write_text(p.read_text())
    with pytest.raises(InputError, match="base tree 'nope' does not exist") as e:
        apply_series(ApplyRequest("nobase", "v1"), runner)
    assert e.value.path.endswith("nobase/series.yaml") and e.value.line == 10
    with pytest.raises(InputError, match=r"base fake@v9.9 does not exist") as e:
        apply_series(ApplyRequest("nobase", "v2"), runner)
    assert e.value.line == 15
    assert_untouched(cache, "nobase", before)


def test_revision_without_patches_says_fetch(demo, runner, cache):
    write_manifest(cache, "empty", [rev("v1")])
    with pytest.raises(InputError, match="has no patches") as e:
        apply_series(ApplyRequest("empty", "v1"), runner)
    assert "harness.py fetch empty@v1" in str(e.value)


def test_cli_apply_and_diff_exit_codes(demo, runner, cache, capsys):
    import harness
    assert harness.main(["apply", "demo@v1", "--upto", "1"]) == 0
    out = capsys.readouterr().out
    assert "demo@v1 on fake@v6.12.117" in out and "clean" in out and "fs: give" in out
    assert harness.main(["diff", "demo", "v1", "v2"]) == 0
    assert "bpf: add a path iterator" in capsys.readouterr().out
    repo, _ = demo
    tree_from_branch(repo, runner, "fake-iter", "iterchange",
                     lambda r: edit(r, "kernel/bpf/iter.c", "int iter_20;\n", "int iter_20 = 7;\n"))
    assert harness.main(["apply", "demo@v2", "--tree", "fake-iter"]) == 3
    err = capsys.readouterr().err
    assert "patch 2 (0002-bpf-add-a-path-iterator.patch" in err and "hunk 1" in err
    assert harness.main(["apply", "demo@v9"]) == 2


def test_apply_base_alone_with_fixups(demo, runner, tmp_path, monkeypatch):
    from patches.apply import apply_base
    repo, _ = demo
    tree_with_fixup(repo, tmp_path, monkeypatch)
    res = apply_base("fake", runner)
    assert res.series == "" and res.patches == [] and len(res.fixups) == 1
    assert res.head == res.fixup_head != res.base_commit
    assert (res.worktree / "fixup.txt").is_file()
    assert apply_base("fake", runner).reused
    with pytest.raises(InputError, match="not imported"):
        apply_base("nope", runner)
