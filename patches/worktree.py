"""One git worktree per (tree, series, revision), with a state file beside it that
says what was applied, so the same revision on the same base is reused."""
from __future__ import annotations

import fcntl
import shutil
from contextlib import contextmanager
from pathlib import Path

from common.errors import ApplyError
from common.fsutil import cache_dir, read_json, write_json

from .gitutil import git, head, is_clean


def worktree_path(tree: str, series: str, rev: str) -> Path:
    return cache_dir() / "worktrees" / tree / series / rev


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
    """One apply at a time per worktree."""
    wt.parent.mkdir(parents=True, exist_ok=True)
    with open(wt.parent / f".{wt.name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def reusable(runner, wt: Path, key: str) -> dict | None:
    """The saved state when the worktree holds exactly what `key` describes."""
    st = read_state(wt)
    if not st or st.get("key") != key or st.get("status") != "applied":
        return None
    if not (wt / ".git").exists() or not is_clean(runner, wt):
        return None
    return st if head(runner, wt) == st.get("head") else None


def prepare(runner, repo: Path, wt: Path, branch: str, commit: str) -> None:
    """A clean worktree at `commit` on `branch` (made, or reset if it is there)."""
    git(runner, ["worktree", "prune"], git_dir=repo, error=ApplyError)
    if wt.exists() and not (wt / ".git").is_file():
        shutil.rmtree(wt)
    if not wt.exists():
        wt.parent.mkdir(parents=True, exist_ok=True)
        git(runner, ["worktree", "add", "-q", "-f", "-B", branch, str(wt), commit],
            git_dir=repo, error=ApplyError)
        return
    abort_am(runner, wt)
    git(runner, ["checkout", "-q", "-f", "-B", branch, commit], cwd=wt, error=ApplyError)
    git(runner, ["reset", "-q", "--hard", commit], cwd=wt, error=ApplyError)
    git(runner, ["clean", "-q", "-f", "-d"], cwd=wt, error=ApplyError)


def abort_am(runner, wt: Path) -> None:
    gitdir = git(runner, ["rev-parse", "--git-dir"], cwd=wt, error=ApplyError).stdout.strip()
    if (wt / gitdir / "rebase-apply").exists() or Path(gitdir, "rebase-apply").exists():
        git(runner, ["am", "--abort"], cwd=wt, check=False)
