"""One git worktree per (tree, series, revision, patches applied), with a state
file beside it that says what was applied, so the same revision on the same base
is reused.

Two locks per worktree, both fcntl locks on files beside it:
- `.<name>.lock` (exclusive) serializes the jobs that check or apply it;
- `.<name>.use` is held shared by every job using the worktree for its whole
  lifetime (build, boot, tests), and exclusive only while patches are applied,
  so an apply never resets a worktree another job is still using.
An apply that has to wait for either lock says which process holds it.

`cache gc` removes a worktree only with both locks taken (`unused`), through
`git worktree remove`, so the repository's list of worktrees stays right.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import sys
from contextlib import contextmanager
from pathlib import Path

from common.errors import ApplyError
from common.fsutil import all_unlocked, cache_dir, inside, read_json, write_json

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


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def holders(path: Path) -> list[int]:
    """The pids holding a lock on the file `path` (from /proc/locks; [] elsewhere)."""
    try:
        st = os.stat(path)
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    dev = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pids = []
    for ln in lines:
        f = ln.split()
        if "->" not in f and len(f) > 5 and f[5] == dev and f[4].isdigit():
            pids.append(int(f[4]))
    return sorted(set(pids))


def _who(pid: int) -> str:
    if pid == os.getpid():
        return f"pid {pid} (another job of this process)"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"pid {pid}"
    cmd = " ".join(os.path.basename(a.decode(errors="replace")) if i == 0 else
                   a.decode(errors="replace") for i, a in enumerate(argv) if a)
    cmd = " ".join(cmd.split())
    return f"pid {pid} ({cmd[:80] + '...' if len(cmd) > 80 else cmd})"


def _wait(f, mode: int, wt: Path, doing: str, say=None) -> None:
    """Take the lock on `f`; when it is held elsewhere, say by whom, then wait."""
    try:
        fcntl.flock(f, mode | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    who = ", ".join(_who(p) for p in holders(Path(f.name))) or "another process"
    (say or _say)(f"apply: waiting for {who}, which {doing} {wt}")
    fcntl.flock(f, mode)


@contextmanager
def locked(wt: Path, say=None):
    """One apply (or reuse check) at a time per worktree."""
    wt.parent.mkdir(parents=True, exist_ok=True)
    with open(wt.parent / f".{wt.name}.lock", "w") as f:
        _wait(f, fcntl.LOCK_EX, wt, "is applying or removing the worktree", say)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class Use:
    """The worktree's use lock, taken under `locked` (so no other apply can slip in
    between a downgrade from exclusive to shared). `release` ends it."""

    def __init__(self, wt: Path, say=None):
        wt.parent.mkdir(parents=True, exist_ok=True)
        self.wt, self.say = wt, say
        self.file = open(wt.parent / f".{wt.name}.use", "w")
        os.utime(self.file.fileno())      # the worktree's last use (for `cache gc`)

    def exclusive(self) -> None:
        """Wait until no other job uses the worktree (before it is reset)."""
        _wait(self.file, fcntl.LOCK_EX, self.wt, "still uses the worktree", self.say)

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


# --- eviction (`harness.py cache gc`) ----------------------------------------------------

def worktrees_root() -> Path:
    return cache_dir() / "worktrees"


def cached() -> list[Path]:
    """Every worktree dir under <cache>/worktrees/<tree>/<series>/."""
    out = []
    for series in sorted(worktrees_root().glob("*/*")):
        if series.is_dir() and not series.is_symlink():
            out += [d for d in sorted(series.iterdir()) if d.is_dir() and
                    not d.is_symlink() and not d.name.startswith(".")]
    return out


def last_used(wt: Path) -> float:
    """When a job last took the worktree (its use lock's mtime), else last applied."""
    times = [p.stat().st_mtime for p in (wt.parent / f".{wt.name}.use", state_path(wt))
             if p.exists()]
    return max(times) if times else wt.stat().st_mtime


def size(wt: Path, measure) -> int:
    """The worktree's bytes on disk: `measure(wt)` once per apply (a kernel's takes
    seconds), kept in `.<name>.size` with the state file's mtime it belongs to."""
    rec, st = wt.parent / f".{wt.name}.size", state_path(wt)
    stamp = st.stat().st_mtime if st.exists() else None
    try:
        old = read_json(rec)
        if stamp is not None and old.get("state_mtime") == stamp:
            return int(old["size"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    n = measure(wt)
    if stamp is not None:
        write_json(rec, {"size": n, "state_mtime": stamp})
    return n


def unused(wt: Path):
    """Yield True holding both of the worktree's locks exclusively when no job
    applies or uses it; else yield False, holding nothing. Never waits."""
    return all_unlocked([wt.parent / f".{wt.name}.{s}" for s in ("lock", "use")])


def remove(runner, wt: Path) -> None:
    """Remove a worktree whose locks `unused` holds: its state first (never reused
    half-removed), then the tree through `git worktree remove --force`, then what
    git left (prune). A worktree whose repository is gone is removed as a dir."""
    for p in (state_path(wt), wt.parent / f".{wt.name}.msgs", wt.parent / f".{wt.name}.size"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        elif p.exists():
            p.unlink()
    common = repository(wt)
    if common is not None:
        git(runner, ["worktree", "remove", "--force", "--force", str(wt)],
            git_dir=common, check=False)
    shutil.rmtree(wt, ignore_errors=True)
    if common is not None:
        git(runner, ["worktree", "prune"], git_dir=common, check=False)


def repository(wt: Path) -> Path | None:
    """The git dir of the repository a worktree belongs to (from its .git file and
    the worktree's commondir), or None when it is not a worktree of one that exists."""
    try:
        text = (wt / ".git").read_text()
        gitdir = wt / text.split("gitdir:", 1)[1].strip() if text.startswith("gitdir:") \
            else None
        common = gitdir / (gitdir / "commondir").read_text().strip() if gitdir else None
    except (OSError, IndexError):
        return None
    return common.resolve() if common is not None and (common / "HEAD").exists() else None
