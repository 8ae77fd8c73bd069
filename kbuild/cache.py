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

from common.errors import InfraError, InputError
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


# --- moving finished builds between machines (`harness.py cache export/import`) ----------

EXPORT_MANIFEST = "export.json"
EXPORT_VERSION = 1


def _file_list(d: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file (a symlink: 'link:' + its target),
    the `complete` marker included."""
    import hashlib
    out = {}
    for root, dirs, files in os.walk(d):
        dirs.sort()
        for name in sorted(files + [x for x in dirs if os.path.islink(os.path.join(root, x))]):
            p = Path(root) / name
            rel = str(p.relative_to(d))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
                continue
            h = hashlib.sha256()
            with open(p, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            out[rel] = h.hexdigest()
    return out


def resolve_key(key: str) -> str:
    """A full key, or a unique prefix (at least 8 characters) of a finished build's."""
    if lookup(key) is not None:
        return key
    root = artifacts_root()
    found = sorted(p.name for p in root.glob(f"{key}*") if (p / COMPLETE).is_file()) \
        if len(key) >= 8 and root.is_dir() else []
    if len(found) == 1:
        return found[0]
    if not found:
        raise InputError(f"no finished build with key '{key}' in the cache",
                         path=str(root / key))
    raise InputError(f"key prefix '{key}' matches {len(found)} builds", path=str(root))


def export_build(key: str, dest: Path) -> Path:
    """Copy the finished build `key` to dest/<key>/ with an export.json listing
    every file's sha256. Returns dest/<key>."""
    key = resolve_key(key)
    src = artifacts_root() / key
    out = Path(dest) / key
    tmp = Path(dest) / f".{key}.tmp-{os.getpid()}"
    try:
        Path(dest).mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp, symlinks=True)
        files = _file_list(tmp)
        atomic_write(tmp / EXPORT_MANIFEST, json.dumps(
            {"version": EXPORT_VERSION, "key": key, "files": files}, indent=2,
            sort_keys=True) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.rename(tmp, out)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _disk_error(e, out) from e
    return out


def _exported(src: Path) -> list[Path]:
    src = Path(src)
    if (src / EXPORT_MANIFEST).is_file():
        return [src]
    if not src.is_dir():
        raise InputError("no such export directory", path=str(src))
    found = sorted(p.parent for p in src.glob(f"*/{EXPORT_MANIFEST}"))
    if not found:
        raise InputError(f"no exported build here (no */{EXPORT_MANIFEST})", path=str(src))
    return found


def verify_export(d: Path) -> str:
    """The key of the exported build in d, after checking it: export.json names the
    key, the dir and the `complete` marker agree with it, and every file is there
    with its sha256 and nothing else is. Raises InputError naming what is wrong."""
    mf = d / EXPORT_MANIFEST
    try:
        data = read_json(mf)
    except (OSError, ValueError) as e:
        raise InputError(f"unreadable export manifest: {e}", path=str(mf), line=1) from e
    key = data.get("key") if isinstance(data, dict) else None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(key, str) or not isinstance(files, dict) or len(key) != 64 or \
            any(c not in "0123456789abcdef" for c in key):
        raise InputError("export manifest without a build key and file list", path=str(mf),
                         line=1)
    if d.name != key:
        raise InputError(f"exported build dir is named '{d.name}' but its manifest says key "
                         f"{key}", path=str(mf), line=1)
    try:
        marker = read_json(d / COMPLETE)
    except (OSError, ValueError) as e:
        raise InputError(f"corrupt exported build {key[:12]}: no readable '{COMPLETE}' "
                         f"marker ({e})", path=str(d / COMPLETE), line=1) from e
    if not isinstance(marker, dict) or marker.get("key") != key:
        raise InputError(f"corrupt exported build {key[:12]}: its '{COMPLETE}' marker is "
                         f"for key {marker.get('key') if isinstance(marker, dict) else '?'}",
                         path=str(d / COMPLETE), line=1)
    have = _file_list(d)
    have.pop(EXPORT_MANIFEST, None)
    bad = sorted(f for f in set(files) | set(have) if files.get(f) != have.get(f))
    if bad:
        what = ", ".join(f"{f} ({'missing' if f not in have else 'unexpected' if f not in files else 'checksum differs'})"
                         for f in bad[:5])
        raise InputError(f"corrupt exported build {key[:12]}: {what}"
                         + (f" and {len(bad) - 5} more" if len(bad) > 5 else ""),
                         path=str(d / bad[0]), line=1)
    return key


def import_builds(src: Path) -> list[str]:
    """Verify every exported build under src, then store each under its key (the
    `complete` marker last, as store() does). Nothing is stored if one is corrupt."""
    dirs = _exported(Path(src))
    keys = [verify_export(d) for d in dirs]
    root = artifacts_root()
    for d, key in zip(dirs, keys):
        final = root / key
        tmp = root / f".{key}.tmp-{os.getpid()}"
        try:
            root.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(d, tmp, symlinks=True,
                            ignore=lambda p, names: [n for n in names
                                                     if n in (EXPORT_MANIFEST, COMPLETE)
                                                     and Path(p) == d])
            if final.exists():
                shutil.rmtree(final)
            os.rename(tmp, final)
            shutil.copy2(d / COMPLETE, final / f".{COMPLETE}.tmp")
            os.replace(final / f".{COMPLETE}.tmp", final / COMPLETE)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise _disk_error(e, final) from e
    return keys
