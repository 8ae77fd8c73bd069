"""Keyed artifact cache: cache_dir()/kbuild/artifacts/<key>/.

A dir counts only when it holds the `complete` marker, written last and
atomically; a dir without it (a killed store) is never reused and is replaced.

In use: a job that looks a key up or stores it holds `.<key>.use` (an fcntl lock,
shared) until the job ends (`job_scope`; without one, until the process exits).
Removal (`gc`, and `store` replacing a finished build) needs that lock exclusively,
so a build another job is booting or testing is never deleted. The `complete`
marker's mtime is the build's last use: `gc` evicts the least recently used
finished builds until the cache is within its size (`--cache-max-size`,
$HARNESS_CACHE_MAX_SIZE, default 20G).

The size counts, and `gc` evicts, more than builds: the worktrees
(<cache>/worktrees, one per revision and patch count; removed through
`git worktree remove` with both worktree locks taken, see patches/worktree.py)
and the families' build dirs (<cache>/kbuild/obj/<family>: the objects an
incremental build starts from; a job pins its family with `.use` as it pins its
builds, and a build holds the family's `lock`). Imported trees
(<cache>/trees) are evicted only when asked (`trees=True`, `cache gc --trees`),
with all their worktrees, and only when none of those is in use."""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InfraError, InputError
from common.fsutil import all_unlocked, atomic_write, cache_dir, exclusive_lock, read_json
from patches import worktree as wtmod
from patches.treeimport import RECORD, trees_dir

COMPLETE = "complete"


def artifacts_root() -> Path:
    return cache_dir() / "kbuild" / "artifacts"


def lookup(key: str) -> Path | None:
    """The finished build `key` (pinned for this job, its last use recorded) or None."""
    pin(key)
    d = artifacts_root() / key
    if not (d / COMPLETE).is_file():
        return None
    try:
        os.utime(d / COMPLETE)
    except OSError:
        pass
    return d


# --- in use: pins held for a job's lifetime --------------------------------------------

_scope = threading.local()
_process_pins: list = []


def _lock_file(key: str):
    root = artifacts_root()
    root.mkdir(parents=True, exist_ok=True)
    return open(root / f".{key}.use", "a")


def families_root() -> Path:
    return cache_dir() / "kbuild" / "obj"


def pin_family(name: str) -> None:
    """Hold the family build dir's use lock (shared) for this job, as `pin` does for
    a build: gc leaves the dir alone until the job ends."""
    pins = _pins()
    ident = "family:" + name
    if any(k == ident for k, _ in pins):
        return
    d = families_root() / name
    d.mkdir(parents=True, exist_ok=True)
    f = open(d / ".use", "a")
    fcntl.flock(f, fcntl.LOCK_SH)
    pins.append((ident, f))


def _pins() -> list:
    pins = getattr(_scope, "pins", None)
    return _process_pins if pins is None else pins


@contextmanager
def job_scope():
    """The pins this thread takes inside are released when the block ends (a job)."""
    prev = getattr(_scope, "pins", None)
    _scope.pins = []
    try:
        yield
    finally:
        for _, f in _scope.pins:
            f.close()
        _scope.pins = prev


def pin(key: str) -> None:
    """Hold key's use lock (shared) for this job; nothing happens if it is held."""
    pins = _pins()
    if any(k == key for k, _ in pins):
        return
    f = _lock_file(key)
    fcntl.flock(f, fcntl.LOCK_SH)
    pins.append((key, f))


def _unpin(key: str) -> None:
    pins = _pins()
    for item in [x for x in pins if x[0] == key]:
        pins.remove(item)
        item[1].close()


@contextmanager
def _removable(key: str):
    """Yield key's use lock file, held exclusively, when no job uses the key (else
    None). `_keep` turns it into this job's pin instead of closing it."""
    f = _lock_file(key)
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        yield None
        return
    try:
        yield f
    finally:
        if not getattr(f, "kept", False):
            f.close()


def _keep(key: str, f) -> None:
    """The exclusive lock `f` becomes this job's shared pin of key (under the store
    lock, so no gc can slip in between)."""
    fcntl.flock(f, fcntl.LOCK_SH)
    f.kept = True
    _pins().append((key, f))


@contextmanager
def _store_lock():
    """One store swap or gc at a time (both remove dirs)."""
    with exclusive_lock(artifacts_root() / ".store.lock"):
        yield


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
    """Copy files/dirs (name -> source) into the key's dir; the marker goes last. A
    finished build of the key that another job is using stays (same key, same
    inputs): the copy is dropped, never the dir in use."""
    root = artifacts_root()
    final = root / key
    tmp = root / f".{key}.tmp-{os.getpid()}-{threading.get_ident()}"
    try:
        root.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        for name, src in files.items():
            shutil.copy2(src, tmp / name)
        for name, src in (dirs or {}).items():
            shutil.copytree(src, tmp / name, symlinks=True)
        _swap_in(key, tmp, final, meta)
    except OSError as e:
        raise _disk_error(e, tmp) from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _swap_in(key: str, tmp: Path, final: Path, meta: dict | None = None,
             marker: str | None = None) -> None:
    """tmp becomes the key's dir, then its `complete` marker (written from meta, or
    the file `marker` in tmp renamed), unless a finished build of the key is in use."""
    _unpin(key)                           # our own pin must not count as another job's
    with _store_lock(), _removable(key) as free:
        if free is None and (final / COMPLETE).is_file():
            pin(key)
            return                        # in use by another job: it stays
        if final.exists():
            shutil.rmtree(final)          # half-written, or a forced rebuild
        os.rename(tmp, final)
        if marker is not None:
            os.replace(final / marker, final / COMPLETE)
        else:
            atomic_write(final / COMPLETE, json.dumps(
                {"key": key, "stored": time.time(), **(meta or {})}, indent=2,
                sort_keys=True) + "\n")
        if free is not None:
            _keep(key, free)              # ours now, before anyone could remove it
        else:
            pin(key)


# --- size limit and eviction (`harness.py cache gc`) -----------------------------------

DEFAULT_MAX_SIZE = "20G"
MAX_SIZE_VAR = "HARNESS_CACHE_MAX_SIZE"
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str, where: str = "--cache-max-size") -> int:
    """'20G', '500M', '1.5T', '0' -> bytes; InputError otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.I)
    if not m:
        raise InputError(f"{where}: {text!r} is not a size (like 20G, 500M, 0)")
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


def max_size(option: str | None = None) -> int:
    """The limit: the option, else $HARNESS_CACHE_MAX_SIZE, else 20G."""
    if option is not None:
        return parse_size(option)
    env = os.environ.get(MAX_SIZE_VAR)
    return parse_size(env, MAX_SIZE_VAR) if env else parse_size(DEFAULT_MAX_SIZE)


def human(n: int) -> str:
    for unit in ("", "K", "M", "G"):
        if n < 1024:
            return f"{n:.0f}{unit or 'B'}" if not unit or n >= 10 else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}T"


def du(path: Path) -> int:
    """Bytes on disk under path (links not followed)."""
    total = 0
    for root, dirs, files in os.walk(path):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


BUILD, WORKTREE, FAMILY, TREE = "build", "worktree", "build dir", "tree"


@dataclass
class Entry:
    key: str                  # a build's key; the name of anything else
    size: int
    last_used: float          # the complete marker's mtime (0 for an unfinished dir)
    finished: bool
    kind: str = BUILD
    path: Path | None = None

    @property
    def label(self) -> str:
        return self.key[:12] if self.kind == BUILD else f"{self.kind} {self.key}"


@dataclass
class GcResult:
    limit: int
    before: int
    after: int
    removed: list[Entry] = field(default_factory=list)
    in_use: list[Entry] = field(default_factory=list)   # would have gone, but in use


def entries() -> list[Entry]:
    root = artifacts_root()
    out = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if not d.is_dir() or d.is_symlink() or d.name.startswith("."):
            continue
        marker = d / COMPLETE
        used = marker.stat().st_mtime if marker.is_file() else 0.0
        out.append(Entry(d.name, du(d), used, marker.is_file()))
    return out


def removed_text(removed: list[Entry]) -> str:
    """'2 old build(s), 1 old worktree(s)': what an eviction removed, by kind."""
    counts = {k: sum(e.kind == k for e in removed) for k in (BUILD, WORKTREE, FAMILY, TREE)}
    return ", ".join(f"{n} old {k}(s)" for k, n in counts.items() if n) or "nothing"


def _size(p: Path) -> int:
    return du(p) if p.is_dir() and not p.is_symlink() else os.lstat(p).st_blocks * 512


FAMILY_KEEP = ("lock", ".use", "stats.json")   # the locks; the timings progress uses


def family_entries() -> list[Entry]:
    """Families' build dirs with something in them besides their locks."""
    root = families_root()
    out = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if not d.is_dir() or d.is_symlink() or d.name.startswith("."):
            continue
        parts = [p for p in d.iterdir() if p.name not in FAMILY_KEEP]
        if parts:
            used = max(p.lstat().st_mtime for p in parts)
            out.append(Entry(d.name, sum(_size(p) for p in parts), used, True, FAMILY, d))
    return out


def worktree_entries() -> list[Entry]:
    root = wtmod.worktrees_root()
    return [Entry(str(wt.relative_to(root)), wtmod.size(wt, du), wtmod.last_used(wt), True,
                  WORKTREE, wt) for wt in wtmod.cached()]


def tree_entries() -> list[Entry]:
    """Imported trees, last used when one of their worktrees was."""
    root = trees_dir()
    out = []
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if d.is_dir() and not d.is_symlink() and (d / RECORD).is_file():
            used = max([(d / RECORD).stat().st_mtime] +
                       [wtmod.last_used(w) for w in _tree_worktrees(d.name)])
            out.append(Entry(d.name, du(d), used, True, TREE, d))
    return out


def _tree_worktrees(tree: str) -> list[Path]:
    return [w for w in wtmod.cached() if w.parent.parent.name == tree]


def _family_unused(d: Path):
    """True, holding the family's build lock and use lock exclusively, when no build
    runs in it and no job has it pinned; else False. Never waits."""
    return all_unlocked([d / "lock", d / ".use"])


def _evict(e: Entry, runner, dry: bool = False) -> list[Path] | None:
    """Remove one entry unless it is in use (None then); the paths removed with it
    (a tree's worktrees). `dry`: only find out whether it could go."""
    if e.kind == BUILD:
        with _removable(e.key) as free:
            if free is not None and not dry:
                shutil.rmtree(artifacts_root() / e.key, ignore_errors=True)
            return [] if free is not None else None
    if e.kind == FAMILY:
        with _family_unused(e.path) as free:
            for p in [p for p in e.path.iterdir() if p.name not in FAMILY_KEEP] \
                    if free and not dry else []:
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
            return [] if free else None
    wts = [e.path] if e.kind == WORKTREE else _tree_worktrees(e.key)
    with contextlib.ExitStack() as stack:
        if not all(stack.enter_context(wtmod.unused(w)) for w in wts):
            return None
        for w in wts if not dry else []:
            wtmod.remove(runner, w)
        if e.kind == TREE and not dry:
            shutil.rmtree(e.path, ignore_errors=True)
    return wts if e.kind == TREE else []


def gc(limit: int, trees: bool = False, runner=None, dry: bool = False) -> GcResult:
    """Remove unfinished dirs and left-over temp dirs, then the least recently used
    finished builds, worktrees and family build dirs (with `trees`, imported trees
    too) until the cache is within `limit` bytes; nothing in use (its lock held by
    a running job) is removed. `dry`: say what would go, remove nothing."""
    from common.proc import Runner
    runner = runner or Runner()
    with _store_lock():
        if not dry:
            _remove_temps()
        items = entries() + family_entries() + worktree_entries() + \
            (tree_entries() if trees else [])
        items.sort(key=lambda e: (e.finished, e.last_used))
        total = sum(e.size for e in items)
        res = GcResult(limit, total, total)
        gone: set = set()                           # worktrees that went with their tree
        for e in items:
            if res.after <= limit and e.finished and e.path not in gone:
                continue
            with_it = [] if e.path in gone else _evict(e, runner, dry)
            if with_it is None:
                res.in_use.append(e)
                continue
            gone.update(with_it)
            res.removed.append(e)
            res.after -= e.size
    return res


def _remove_temps() -> None:
    """`.<key>.tmp-<pid>-...` dirs whose process is gone (a killed store)."""
    for d in artifacts_root().glob(".*.tmp-*"):
        m = re.search(r"\.tmp-(\d+)", d.name)
        if d.is_dir() and m and not _alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
            shutil.copy2(d / COMPLETE, tmp / f".{COMPLETE}.tmp")
            _swap_in(key, tmp, final, marker=f".{COMPLETE}.tmp")
        except OSError as e:
            raise _disk_error(e, final) from e
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return keys
