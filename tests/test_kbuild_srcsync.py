"""kbuild/srcsync.py on real git worktrees and a real make: after a build dir
moves to another worktree, make rebuilds exactly what differs, never less."""
import os
import shutil
import subprocess
import time

from common.fsutil import read_json, write_json
from common.proc import Runner
from kbuild import srcsync

MAKEFILE = "out/%.o: %.c\n\tcp $< $@\n"


def git(cwd, *args):
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def repo_with_two_commits(tmp_path):
    """Commit A: a.c, b.c, h.h; commit B changes b.c. Worktrees wa (A) and wb (B)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "user.email", "t@e")
    git(repo, "config", "user.name", "t")
    for name, text in (("a.c", "a\n"), ("b.c", "b\n"), ("h.h", "h\n"), ("Makefile", MAKEFILE)):
        (repo / name).write_text(text)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "A")
    a = git(repo, "rev-parse", "HEAD")
    (repo / "b.c").write_text("b2\n")
    git(repo, "commit", "-qam", "B")
    b = git(repo, "rev-parse", "HEAD")
    git(repo, "worktree", "add", "-q", str(tmp_path / "wa"), a)
    git(repo, "worktree", "add", "-q", str(tmp_path / "wb"), b)
    return tmp_path / "wa", tmp_path / "wb", a, b


def make(tree, out):
    """Build a.o and b.o into `out`, which moves into the tree as kbuild's does."""
    slot = tree / "out"
    os.rename(out, slot)
    try:
        res = subprocess.run(["make", "-C", str(tree), "out/a.o", "out/b.o"], check=True,
                             capture_output=True, text=True).stdout
    finally:
        os.rename(slot, out)
    return sorted(line.split()[-1] for line in res.splitlines() if line.startswith("cp "))


def test_moving_between_worktrees_rebuilds_only_what_differs(tmp_path):
    wa, wb, a, b = repo_with_two_commits(tmp_path)
    out, rec = tmp_path / "obj", tmp_path / "sources.json"
    out.mkdir()
    r = Runner()
    first = srcsync.sync(r, wa, rec)
    assert first.full and first.touched == first.files == 4      # no record yet
    assert make(wa, out) == ["out/a.o", "out/b.o"]
    srcsync.built(r, wa, rec)
    assert read_json(rec) == {"tree": str(wa), "commits": [a], "dirty": []}
    time.sleep(0.01)
    res = srcsync.sync(r, wb, rec)
    assert not res.full and res.touched == 1                      # b.c only
    assert os.stat(wb / "a.c").st_mtime == srcsync.EPOCH
    assert make(wb, out) == ["out/b.o"]
    assert (out / "b.o").read_text() == "b2\n"
    srcsync.built(r, wb, rec)
    srcsync.sync(r, wa, rec)                                      # back to the old worktree
    assert make(wa, out) == ["out/b.o"] and (out / "b.o").read_text() == "b\n"


def test_a_killed_build_keeps_both_sources_in_the_record(tmp_path):
    wa, wb, a, b = repo_with_two_commits(tmp_path)
    rec = tmp_path / "sources.json"
    r = Runner()
    srcsync.sync(r, wa, rec)
    srcsync.built(r, wa, rec)
    srcsync.sync(r, wb, rec)                  # the build in wb never finishes
    assert read_json(rec)["commits"] == sorted([a, b])
    res = srcsync.sync(r, wa, rec)            # objects may be from a or b: b.c is touched
    assert res.touched == 1 and os.stat(wa / "b.c").st_mtime > srcsync.EPOCH


def test_dirty_files_unknown_commits_and_other_records(tmp_path):
    wa, wb, a, b = repo_with_two_commits(tmp_path)
    rec, other = tmp_path / "k.json", tmp_path / "s.json"
    r = Runner()
    srcsync.sync(r, wa, rec)
    srcsync.built(r, wa, rec)
    (wa / "h.h").write_text("edited\n")
    res = srcsync.sync(r, wa, rec)
    assert res.touched == 1 and read_json(rec)["dirty"] == ["h.h"]
    git(wa, "checkout", "-q", "h.h")
    res = srcsync.sync(r, wa, rec)            # dirty when built: still suspect
    assert res.touched == 1
    srcsync.built(r, wa, rec)
    write_json(other, {"tree": str(wb), "commits": [b], "dirty": []})
    res = srcsync.sync(r, wa, rec, (other,))  # the other build dir holds b's b.c
    assert res.touched == 1 and srcsync.record_tree(other) == str(wb)
    write_json(rec, {"commits": ["f" * 40], "dirty": []})
    assert srcsync.sync(r, wa, rec).full      # a commit this repo lacks: everything
    srcsync.forget(rec)
    assert srcsync.load_record(rec) is None
    shutil.rmtree(wa / ".git", ignore_errors=True)
    (wa / ".git").unlink(missing_ok=True)
    assert srcsync.sync(r, wa, tmp_path / "x.json") is None      # not a git checkout
