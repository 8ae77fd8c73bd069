"""Atomic writes, the cache locations and the never-waiting lock check."""
from __future__ import annotations

import errno
import fcntl
import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import InfraError, InputError

REPO_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """Root of the harness caches (trees, builds, probes). HARNESS_CACHE overrides."""
    env = os.environ.get("HARNESS_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kharness"


def results_root() -> Path:
    """Where runs write their results: results/runs/ (results/ itself holds the
    results code). HARNESS_RESULTS overrides."""
    return Path(os.environ.get("HARNESS_RESULTS", REPO_ROOT / "results" / "runs"))


def inside(root: Path, *parts: str) -> Path:
    """root/parts..., refused (InputError) unless it stays inside root: every part
    is one plain name (not empty, '.', '..', absolute, or with a '/' or NUL)."""
    for part in parts:
        if part in ("", ".", "..") or "/" in part or "\0" in part:
            raise InputError(f"{part!r} is not a plain name (it would leave {root})")
    return Path(root).joinpath(*parts)


def disk_error(path, e: OSError) -> InfraError:
    """The infrastructure error for a failed write of `path` (ENOSPC says so)."""
    if e.errno == errno.ENOSPC:
        return InfraError(f"cannot write {path}: no space left on the device",
                          hint="free disk space (harness.py cache gc) and run again; "
                               "earlier results are kept")
    return InfraError(f"cannot write {path}: {e.strerror or e}")


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write via a temp file in the same dir plus rename, so readers never see half a
    file; the temp file is removed on any failure, an interrupt included. A failed
    write (disk full) is an InfraError and leaves the earlier file as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise disk_error(path, e) from e
        raise


def write_json(path: Path, obj) -> None:
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@contextmanager
def all_unlocked(paths):
    """Yield True holding an exclusive lock on every file in `paths` (created if
    missing) when no one else holds any of them; else yield False, holding nothing.
    Never waits: cache gc uses it to remove only what no job holds."""
    files = []
    try:
        for p in paths:
            files.append(open(p, "a"))
            try:
                fcntl.flock(files[-1], fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
        yield True
    finally:
        for f in files:
            f.close()


@contextmanager
def exclusive_lock(path: Path):
    """Hold an exclusive flock on `path` (made, with its dir, if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield
