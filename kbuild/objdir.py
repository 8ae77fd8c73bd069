"""Persistent build dirs, one per family (tree name + config family + toolchain).

The family's build dir lives at cache_dir()/kbuild/obj/<family>/build. For a
build it is moved (one rename, same filesystem) to <tree>/.kharness-build, a
direct subdirectory of the source tree, so kbuild uses the relative srctree
`..`: compiler command lines are then the same for every worktree, and ccache
hits across worktrees of the same base. Afterwards it is moved back. A killed
build leaves it in the tree; the next build of the family moves it back first
(state.json says where it is). Where the rename cannot work (another
filesystem) the build runs in the family dir itself.
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from common.errors import InfraError
from common.fsutil import cache_dir, read_json, write_json

from .cache import pin_family
from .srcsync import record_tree

IN_TREE = ".kharness-build"
MARK = ".kharness-family"


def family_name(tree_name: str, config_family: str, toolchain: str) -> str:
    raw = f"{tree_name}-{config_family}-{toolchain}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", raw)


@dataclass(frozen=True)
class Family:
    name: str

    @property
    def root(self) -> Path:
        return cache_dir() / "kbuild" / "obj" / self.name

    @property
    def obj(self) -> Path:
        return self.root / "build"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    @property
    def sources(self) -> Path:
        """What the kernel objects were built from (kbuild/srcsync.py)."""
        return self.root / "sources.json"

    @property
    def selftests_sources(self) -> Path:
        """What the selftests objects (selftests-bpf/) were built from."""
        return self.root / "selftests-sources.json"

    @property
    def stats(self) -> Path:
        return self.root / "stats.json"

    def load_stats(self) -> dict:
        try:
            return read_json(self.stats)
        except (OSError, ValueError):
            return {}

    def save_stats(self, stats: dict) -> None:
        write_json(self.stats, stats)


def _where(fam: Family) -> Path | None:
    try:
        at = read_json(fam.state).get("at")
    except (OSError, ValueError):
        return None
    return Path(at) if at else None


def _set_where(fam: Family, at: Path | None) -> None:
    write_json(fam.state, {"at": str(at) if at else None})


def reclaim(fam: Family) -> None:
    """Move the family's build dir home if a killed build left it in a tree."""
    at = _where(fam)
    if at is None:
        return
    if at.is_dir() and (at / MARK).is_file() and (at / MARK).read_text().strip() == fam.name:
        if fam.obj.exists():
            shutil.rmtree(at)
        else:
            os.rename(at, fam.obj)
    _set_where(fam, None)


def _clear_slot(slot: Path, mine: "Family") -> None:
    """Free <tree>/.kharness-build: give another family's dir back, or remove junk."""
    if not slot.exists():
        return
    mark = slot / MARK
    if mark.is_file():
        other = Family(mark.read_text().strip())
        if other.name == mine.name:     # our own dir, left there by a killed build
            shutil.rmtree(slot)
            return
        with _locked(other):            # wait for a build of that family to finish
            if _where(other) == slot:
                reclaim(other)
                return
    if slot.exists():
        shutil.rmtree(slot)


@contextmanager
def _locked(fam: Family):
    fam.root.mkdir(parents=True, exist_ok=True)
    with open(fam.root / "lock", "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lk, fcntl.LOCK_UN)


@contextmanager
def checkout(tree: Path, fam: Family):
    """Yield the build dir to use as O= for `tree`, holding the family lock; the
    job keeps the family pinned (`cache gc` leaves its build dir) until it ends."""
    pin_family(fam.name)
    with _locked(fam):
        try:
            reclaim(fam)
            fam.obj.mkdir(parents=True, exist_ok=True)
            (fam.obj / MARK).write_text(fam.name + "\n")
            slot = Path(tree) / IN_TREE
            _clear_slot(slot, fam)
            _set_where(fam, slot)
            built_in = record_tree(fam.sources)
            try:
                os.rename(fam.obj, slot)
                repath_tools(slot, built_in, Path(tree))
            except OSError as e:
                _set_where(fam, None)
                if e.errno != errno.EXDEV:
                    raise
                yield fam.obj
                return
        except OSError as e:
            raise InfraError(f"cannot prepare the build dir {fam.obj}: {e.strerror}",
                             hint="is the disk full?" if e.errno == errno.ENOSPC else None
                             ) from e
        try:
            yield slot
        finally:
            os.rename(slot, fam.obj)
            _set_where(fam, None)


def repath_tools(obj: Path, old: str | None, new: Path) -> int:
    """The host tools kbuild builds in the build dir (objtool, its libsubcmd)
    record their commands with absolute paths, unlike the kernel's objects. In
    another worktree every such command differs, objtool is rebuilt, and every
    object that objtool checks is rebuilt after it: a full build where the
    sources record allows an incremental one. So the worktree path the objects
    were built in is rewritten to the new one in those records (.cmd and .d
    files under tools/). Returns the files rewritten."""
    new_s = str(Path(new).resolve())
    if not old or old == new_s or not (obj / "tools").is_dir():
        return 0
    was, now = (old.rstrip("/") + "/").encode(), (new_s + "/").encode()
    n = 0
    for p in (obj / "tools").rglob("*"):
        if not (p.name.endswith(".cmd") or p.name.endswith(".d")) or not p.is_file():
            continue
        data = p.read_bytes()
        if was in data:
            p.write_bytes(data.replace(was, now))
            n += 1
    return n
