"""Keyed artifact cache: cache_dir()/kbuild/artifacts/<key>/.

A dir counts only when it holds the `complete` marker, written last and
atomically; a dir without it (a killed store) is never reused and is replaced."""
from __future__ import annotations

import errno
import json
import os
import shutil
import time
from pathlib import Path

from common.errors import InfraError
from common.fsutil import atomic_write, cache_dir, read_json

COMPLETE = "complete"


def artifacts_root() -> Path:
    return cache_dir() / "kbuild" / "artifacts"


def lookup(key: str) -> Path | None:
    d = artifacts_root() / key
    return d if (d / COMPLETE).is_file() else None


def manifest(key: str) -> dict:
    d = lookup(key)
    if d is None:
        return {}
    try:
        return read_json(d / COMPLETE)
    except (OSError, ValueError):
        return {}


def _disk_error(e: OSError, what: Path) -> InfraError:
    if e.errno == errno.ENOSPC:
        return InfraError(f"disk full while writing {what}",
                          hint=f"free space under {artifacts_root()} (old keys can go)")
    return InfraError(f"cannot write {what}: {e.strerror}")


def store(key: str, files: dict[str, Path], dirs: dict[str, Path] | None = None,
          meta: dict | None = None) -> Path:
    """Copy files/dirs (name -> source) into the key's dir; the marker goes last."""
    root = artifacts_root()
    final = root / key
    tmp = root / f".{key}.tmp-{os.getpid()}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        for name, src in files.items():
            shutil.copy2(src, tmp / name)
        for name, src in (dirs or {}).items():
            shutil.copytree(src, tmp / name, symlinks=True)
        if final.exists():
            shutil.rmtree(final)          # half-written, or a forced rebuild
        os.rename(tmp, final)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _disk_error(e, tmp) from e
    atomic_write(final / COMPLETE, json.dumps(
        {"key": key, "stored": time.time(), **(meta or {})}, indent=2, sort_keys=True) + "\n")
    return final
