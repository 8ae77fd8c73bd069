"""Ad-hoc series: a `git format-patch` dir or an mbox of the fixture series, run with
no manifest (patches/adhoc.py, the job option --mbox, the check phase)."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from common.errors import InputError
from common.proc import Runner
from patches.adhoc import is_adhoc, make_series, read_posting
from patches.manifest import find_series
from patches.source import load_patches
from pipeline.check import CheckFailed, _adhoc
from pipeline.job import JobSpec

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "patches" / "series" / "kharness-fixture" / "v2"
TREE = "adhoc-tree"


def git(*args, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True, env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
                                          "GIT_COMMITTER_NAME": "t",
                                          "GIT_COMMITTER_EMAIL": "t@t",
                                          "HOME": str(cwd), "PATH": "/usr/bin:/bin"}).stdout


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A small kernel-like tree (imported as TREE, a bare repo with its 'base' tag)
    and a branch on it with the fixture series' three commits; the posting is made
    from the branch by git format-patch."""
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "src"
    src.mkdir()
    git("init", "-q", "-b", "main", cwd=src)
    (src / "Makefile").write_text("EXTRAVERSION =\nNAME = Baby Opossum Posse\n")
    git("add", ".", cwd=src)
    git("commit", "-q", "-m", "prereq: the tree's own change", cwd=src)
    base = git("rev-parse", "HEAD", cwd=src).strip()
    git("checkout", "-q", "-b", "series", cwd=src)
    for i in (1, 2, 3):
        (src / f"file{i}.txt").write_text(f"change {i}\n")
        git("add", ".", cwd=src)
        git("commit", "-q", "-m", f"fixture: change {i}\n\nBody {i}.", cwd=src)
    trees = tmp_path / "cache" / "trees"
    trees.mkdir(parents=True)
    git("clone", "-q", "--bare", str(src), str(trees / TREE), cwd=tmp_path)
    git("tag", "base", base, cwd=trees / TREE)
    (trees / TREE / "kharness-tree.json").write_text(json.dumps(
        {"name": TREE, "commit": base, "tags": ["base"], "kind": "git", "source": str(src),
         "key": "k"}))
    return {"src": src, "base": base, "tmp": tmp_path}


def format_patch(repo, *extra: str, out: str = "posting") -> Path:
    d = repo["tmp"] / out
    git("format-patch", "-q", "-o", str(d), *extra, "main..series", cwd=repo["src"])
    return d


def test_format_patch_dir_with_cover_base_and_version(repo):
    d = format_patch(repo, "-v3", "--cover-letter", "--base=main")
    p = read_posting(d, "dir")
    assert (p.label, p.base_commit, len(p.items)) == ("v3", repo["base"], 3)
    assert p.title == "*** SUBJECT HERE ***"        # git's cover letter, unedited
    name, label = make_series(d, "dir", TREE, Runner())
    assert label == "v3" and name.startswith("adhoc-subject-here-")
    series = find_series(name)
    rev = series.revision("v3")
    assert rev.base.tree == TREE and rev.base.ref == repo["base"]
    assert "base-commit " + repo["base"][:12] in rev.notes
    assert [i.subject for i in load_patches(series, rev)] == [
        "fixture: change 1", "fixture: change 2", "fixture: change 3"]


def test_no_cover_no_base_uses_the_trees_base_and_says_so(repo):
    d = format_patch(repo)
    p = read_posting(d, "dir")
    assert (p.label, p.base_commit, p.title) == ("v1", None, "fixture: change 1")
    name, label = make_series(d, "dir", TREE, Runner())
    rev = find_series(name).revision(label)
    assert rev.base.ref is None
    assert f"no base-commit: in the posting; the base is {TREE}'s base" in rev.notes


def test_unknown_base_commit_falls_back_with_a_note(repo):
    d = format_patch(repo, "--base=main")
    for f in d.glob("*.patch"):
        f.write_text(f.read_text().replace(repo["base"], "0123456789abcdef" * 2 + "01234567"))
    name, label = make_series(d, "dir", TREE, Runner())
    rev = find_series(name).revision(label)
    assert rev.base.ref is None and "is not in adhoc-tree" in rev.notes


def test_mbox_as_b4_am_writes_it(repo):
    mbox = repo["tmp"] / "v2.mbx"
    mbox.write_text(git("format-patch", "--stdout", "-v2", "main..series", cwd=repo["src"]))
    name, label = make_series(mbox, "mbox", TREE, Runner())
    series = find_series(name)
    assert label == "v2" and len(load_patches(series, series.revision("v2"))) == 3


def test_prerequisites_listed_and_a_missing_one_is_an_error(repo):
    d = format_patch(repo, "--base=main")
    # the patch-id of the tree's own commit (in the base) is a met prerequisite
    show = git("show", "main", cwd=repo["src"])
    pid = subprocess.run(["git", "patch-id", "--stable"], input=show, capture_output=True,
                         text=True, check=True).stdout.split()[0]
    last = next(f for f in sorted(d.glob("*.patch")) if "base-commit:" in f.read_text())
    text = last.read_text()
    line = f"base-commit: {repo['base']}\n"
    last.write_text(text.replace(line, line + f"prerequisite-patch-id: {pid}\n"))
    name, label = make_series(d, "dir", TREE, Runner())
    assert f"prerequisite-patch-id {pid}: present" in find_series(name).revision(label).notes
    last.write_text(text.replace(line, line + f"prerequisite-patch-id: {'ab' * 20}\n"))
    with pytest.raises(InputError, match=f"prerequisite patch.*not in {TREE}.*{'ab' * 20}"):
        make_series(d, "dir", TREE, Runner())


def test_a_missing_patch_of_the_posting_is_an_error(repo):
    d = format_patch(repo)
    sorted(d.glob("*.patch"))[1].unlink()
    with pytest.raises(InputError, match=r"patches \[1, 3\] of 3"):
        read_posting(d, "dir")


def test_check_phase_names_the_adhoc_series(repo):
    d = format_patch(repo, "-v3", "--base=main")
    spec = _adhoc(JobSpec(tree=TREE, mbox=str(d)))
    assert spec.rev == "v3" and spec.series.startswith("adhoc-fixture-change-1-")
    assert spec.mbox == str(d.resolve()) and not spec.base_only
    assert spec.job_parts()[:2] == [spec.series, "v3"]
    with pytest.raises(CheckFailed, match="no such mbox or directory of patches"):
        _adhoc(JobSpec(tree=TREE, mbox=str(repo["tmp"] / "nothing/")))


def test_fixture_series_patches_as_a_dir(tmp_path, monkeypatch):
    """The repo's own fixture series files (git format-patch output, [PATCH n/3])."""
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    d = tmp_path / "v2"
    shutil.copytree(FIXTURE, d)
    p = read_posting(d, "dir")
    assert (p.label, len(p.items)) == ("v1", 3)
    assert p.title == "selftests/kharness: add a KTAP test of the running kernel"
    assert is_adhoc("./v2") and is_adhoc(str(d)) and not is_adhoc("kharness-fixture@v2")


def test_run_check_on_a_dir_and_an_mbox(repo, capsys):
    import harness
    d = format_patch(repo, "-v3", "--cover-letter", "--base=main")
    assert harness.main(["run", str(d), "--tree", TREE, "--check"]) == 0
    out = capsys.readouterr().out
    assert "adhoc-subject-here-" in out and "@v3" in out and "suites [smoke]" in out
    mbox = repo["tmp"] / "p.mbx"
    mbox.write_text(git("format-patch", "--stdout", "-v2", "main..series", cwd=repo["src"]))
    assert harness.main(["run", "--mbox", str(mbox), "--tree", TREE, "--check"]) == 0
    assert "@v2" in capsys.readouterr().out
    assert harness.main(["run", str(d), "--mbox", str(mbox), "--check"]) == 2
    assert "give a posting once" in capsys.readouterr().err
