"""Source mtimes that tell make the truth when a build dir moves between worktrees.

A family's build dir moves from worktree to worktree (objdir.py). make decides
what to rebuild by mtime, and a worktree's mtimes say when git wrote the file,
not what it holds: a fresh worktree looks entirely new (everything recompiles),
and an old one looks older than objects built from other content (stale objects).

So each build dir keeps a record (`sources.json` beside it) of what its objects
were built from: the commits (all worktrees of a tree share one repository) and
the paths that were dirty. Before a build, `sync` gives every tracked file of the
tree a fixed old mtime, except the files whose content may differ from what the
objects were built from: those that `git diff` shows between any recorded commit
and HEAD, and the dirty paths then and now, which get the current time. make
then rebuilds exactly what changed. Without a usable record (a first build, a
commit git does not know) every tracked file gets the current time: a full
rebuild, which ccache makes cheap, and never a stale object.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from common.fsutil import read_json, write_json

EPOCH = 946684800            # 2000-01-01: older than any object a build writes
RECORD = "sources.json"


@dataclass
class SyncResult:
    head: str
    touched: int              # files given the current time
    files: int                # tracked files in all
    full: bool                # no usable record: everything was touched


def _git(runner, tree: Path, args: list[str]):
    return runner.run(["git", "-C", str(tree)] + args, timeout=300)


def _names(text: str) -> set[str]:
    return {n for n in text.split("\0") if n}


def load_record(path: Path) -> dict | None:
    try:
        rec = read_json(path)
    except (OSError, ValueError):
        return None
    ok = isinstance(rec, dict) and isinstance(rec.get("commits"), list)
    return rec if ok else None


def dirty_paths(runner, tree: Path) -> set[str] | None:
    res = _git(runner, tree, ["diff", "HEAD", "--name-only", "-z"])
    return _names(res.stdout) if res.returncode == 0 else None


def changed_since(runner, tree: Path, rec: dict | None, head: str) -> set[str] | None:
    """Paths whose content may differ from what `rec` says was built; None when
    the record cannot tell (missing, or a commit this repository lacks)."""
    if rec is None or not rec["commits"]:
        return None
    out = set(rec.get("dirty") or [])
    for commit in rec["commits"]:
        res = _git(runner, tree, ["diff", "--name-only", "-z", commit, head])
        if res.returncode != 0:
            return None
        out |= _names(res.stdout)
    return out


def set_mtimes(tree: Path, files: list[str], touched: set[str] | None) -> int:
    """EPOCH for every file, now for those in `touched` (all of them when None)."""
    now = time.time()
    n = 0
    for rel in files:
        fresh = touched is None or rel in touched
        stamp = now if fresh else EPOCH
        try:
            os.utime(tree / rel, (stamp, stamp), follow_symlinks=False)
        except FileNotFoundError:
            continue          # deleted in the worktree: git diff HEAD lists it
        n += fresh
    return n


def sync(runner, tree: Path, mark: Path, others: tuple[Path, ...] = ()) -> SyncResult | None:
    """Make `tree`'s mtimes right for the build dir whose record is `mark` and for
    the other build dirs fed from this tree (`others`: their records), then mark
    `mark` as being built from this tree (kept if the build is killed). None when
    `tree` is not a git checkout (its mtimes are then left alone)."""
    tree = Path(tree)
    head_res = _git(runner, tree, ["rev-parse", "HEAD"])
    files_res = _git(runner, tree, ["ls-files", "-z"])
    dirty = dirty_paths(runner, tree)
    if head_res.returncode != 0 or files_res.returncode != 0 or dirty is None:
        return None
    head = head_res.stdout.strip()
    rec = load_record(mark)
    changed = changed_since(runner, tree, rec, head)
    for other in others:
        if changed is None:
            break
        orec = load_record(other)
        if orec is not None:
            more = changed_since(runner, tree, orec, head)
            changed = None if more is None else changed | more
    touched = None if changed is None else changed | dirty
    files = sorted(_names(files_res.stdout))
    n = set_mtimes(tree, files, touched)
    keep = rec is not None and changed is not None
    commits = set(rec["commits"]) if keep else set()
    was_dirty = set(rec.get("dirty") or []) if keep else set()
    write_json(mark, {"tree": str(tree), "commits": sorted(commits | {head}),
                      "dirty": sorted(was_dirty | dirty)})
    return SyncResult(head, n, len(files), changed is None)


def record_tree(path: Path) -> str | None:
    rec = load_record(path)
    return rec.get("tree") if rec else None


def built(runner, tree: Path, record: Path) -> None:
    """After a successful build: the objects now hold exactly `tree`'s content."""
    head_res = _git(runner, Path(tree), ["rev-parse", "HEAD"])
    dirty = dirty_paths(runner, Path(tree))
    if head_res.returncode != 0 or dirty is None:
        return
    write_json(record, {"tree": str(tree), "commits": [head_res.stdout.strip()],
                        "dirty": sorted(dirty)})


def forget(record: Path) -> None:
    """The build dir was emptied: nothing is known about it."""
    try:
        os.unlink(record)
    except FileNotFoundError:
        pass
