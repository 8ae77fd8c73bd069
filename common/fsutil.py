"""Atomic writes and the cache locations."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import InfraError

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


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write via a temp file in the same dir plus rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise InfraError(f"cannot write {path}: {e.strerror}",
                         hint="is the disk full?" if e.errno == 28 else None) from e


def write_json(path: Path, obj) -> None:
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def read_json(path: Path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)
