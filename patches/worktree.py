"""One git worktree per (tree, series, revision, patches applied), with a state
file beside it that says what was applied, so the same revision on the same base
is reused.

Two locks per worktree, both fcntl locks on files beside it:
- `.<name>.lock` (exclusive) serializes the jobs that check or apply it;
- `.<name>.use` is held shared by every job using the worktree for its whole
  lifetime (build, boot, tests), and exclusive only while patches are applied,
  so an apply never resets a worktree another job is still using.
"""
from __future__ import annotations

import fcntl
import shutil
from contextlib import contextmanager
from pathlib import Path

from common.errors import ApplyError
from common.fsutil import cache_dir, inside, read_json, write_json

from .gitutil import git, head, is_clean


def worktree_path(tree: str, series: str, rev: str, upto: int | None = None,
                  skip: int | None = None) -> Path:
    """<cache>/worktrees/<tree>/<series>/<rev>[.upto-K][.skip-J]: a job applying the
    first K patches, or leaving out patch J, has a worktree of its own."""
    name = rev + (f".upto-{upto}" if upto is not None else "") + \
        (f".skip-{skip}" if skip is not None else "")
    return inside(cache_dir() / "worktrees", tree, series, name)


def state_path(wt: Path) -> Path:
    return wt.parent / f"{wt.name}.json"


def read_state(wt: Path) -> dict | None:
    p = state_path(wt)
    try:
        return read_json(p) if p.is_file() else None
    except ValueError:
        return None


def write_state(wt: Path, state: dict) -> None:
    write_json(state_path(wt), state)


@contextmanager
def locked(wt: Path):
    """One apply (or reuse check) at a time per worktree."""
    wt.parent.mkdir(parents=True, exist_ok=True)
    with open(wt.parent / f".{wt.name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class Use:
    """The worktree's use lock, taken under `locked` (so no other apply can slip in
    between a downgrade from exclusive to shared). `release` ends it."""

    def __init__(self, wt: Path):
        wt.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(wt.parent / f".{wt.name}.use", "w")

    def exclusive(self) -> None:
        """Wait until no other job uses the worktree (before it is reset)."""
        fcntl.flock(self.file, fcntl.LOCK_EX)

    def shared(self) -> None:
        fcntl.flock(self.file, fcntl.LOCK_SH)

    def release(self) -> None:
        if not self.file.closed:
            self.file.close()


def in_use(wt: Path) -> bool:
    """True while a job holds the worktree (its use lock cannot be taken exclusively)."""
    p = wt.parent / f".{wt.name}.use"
    if not p.exists():
        return False
    with open(p) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


def reusable(runner, wt: Path, key: str) -> dict | None:
    """The saved state when the worktree holds exactly what `key` describes."""
    st = read_state(wt)
    if not st or st.get("key") != key or st.get("status") != "applied":
        return None
    if not (wt / ".git").exists() or am_state(runner, wt) or not is_clean(runner, wt):
        return None
    return st if head(runner, wt) == st.get("head") else None


def prepare(runner, repo: Path, wt: Path, branch: str, commit: str) -> list[str]:
    """A clean worktree at `commit` on `branch` (made, or reset if it is there); the
    notes say what was left behind by a killed apply and cleaned."""
    git(runner, ["worktree", "prune"], git_dir=repo, error=ApplyError)
    notes = []
    if wt.exists() and not (wt / ".git").is_file():
        shutil.rmtree(wt)
    if not wt.exists():
        wt.parent.mkdir(parents=True, exist_ok=True)
        git(runner, ["worktree", "add", "-q", "-f", "-B", branch, str(wt), commit],
            git_dir=repo, error=ApplyError)
        return notes
    if abort_am(runner, wt):
        notes.append(f"{wt}: a git am left by an interrupted apply was aborted")
    git(runner, ["checkout", "-q", "-f", "-B", branch, commit], cwd=wt, error=ApplyError)
    git(runner, ["reset", "-q", "--hard", commit], cwd=wt, error=ApplyError)
    git(runner, ["clean", "-q", "-f", "-d"], cwd=wt, error=ApplyError)
    return notes


def am_state(runner, wt: Path) -> Path | None:
    """The worktree's `rebase-apply` dir when a `git am` is in progress there."""
    res = git(runner, ["rev-parse", "--absolute-git-dir"], cwd=wt, check=False)
    if res.returncode != 0:
        return None
    d = Path(res.stdout.strip()) / "rebase-apply"
    return d if d.exists() else None


def abort_am(runner, wt: Path) -> bool:
    """Abort a `git am` in progress (its state removed if the abort fails); True
    when there was one."""
    d = am_state(runner, wt)
    if d is None:
        return False
    git(runner, ["am", "--abort"], cwd=wt, check=False)
    if d.exists():
        shutil.rmtree(d, ignore_errors=True)
    return True
