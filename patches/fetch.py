"""`fetch SERIES[@REV]`: a posting's patches by message-id, with b4, into the series
dir as <label>/<label>.mbx, with SHA256SUMS and fetch.json beside it.

Offline it fails within the probe timeout and says where to put the mbox by hand.
"""
from __future__ import annotations

import datetime
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InputError, OfflineError
from common.fsutil import atomic_write, write_json

from .mailbox import read_text, sha256_text, split_mbox
from .manifest import find_series
from .source import mbox_path

LORE = ("lore.kernel.org", 443)


@dataclass
class FetchRequest:
    series: str
    rev: str
    mbox: Path | None = None              # a local mbox to store instead of asking lore
    lore: tuple[str, int] = LORE
    probe_timeout: float = 3.0
    b4_timeout: float = 300.0


@dataclass
class FetchResult:
    series: str
    rev: str
    mbox: Path
    sha256: str
    method: str                           # b4, local, present
    subjects: list[str] = field(default_factory=list)


def lore_reachable(host: str, port: int, timeout: float) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def fetch(req: FetchRequest, runner) -> FetchResult:
    series = find_series(req.series)
    rev = series.revision(req.rev)
    if not rev.message_id:
        raise InputError(f"{series.name}@{rev.label} is a {rev.kind} revision with no "
                         "message_id: there is nothing to fetch", path=str(series.manifest),
                         line=rev.line)
    dest = mbox_path(series, rev)
    if req.mbox is not None:
        if shutil.which("b4") is None:
            return _store(series, rev, Path(req.mbox), dest, "local")
        return _b4(req, series, rev, dest, runner, local=Path(req.mbox))
    if dest.is_file():
        return _store(series, rev, dest, dest, "present")
    host, port = req.lore
    if not lore_reachable(host, port, req.probe_timeout):
        raise OfflineError(f"cannot reach {host}; put the mbox at {dest}",
                           hint=f"then run: harness.py fetch {series.name}@{rev.label} "
                                f"(or pass --mbox FILE); lore: {rev.lore_url}")
    return _b4(req, series, rev, dest, runner)


def _b4(req: FetchRequest, series, rev, dest: Path, runner, local: Path | None = None):
    """b4 am by message-id; with `local`, from that mbox (-m) instead of lore."""
    if local is not None and not local.is_file():
        raise InputError("no such mbox", path=str(local))
    with tempfile.TemporaryDirectory(prefix="kh-b4-") as tmp:
        argv = ["b4", "am", "--no-cover", "-o", tmp, "-n", rev.label]
        if local is not None:
            split_mbox(local)
            argv += ["-m", str(local.resolve())]
        m = re.match(r"^v(\d+)", rev.label)
        if m:
            argv += ["-v", m.group(1)]
        runner.run(argv + [rev.message_id], timeout=req.b4_timeout, check=True,
                   error=OfflineError)
        got = Path(tmp) / f"{rev.label}.mbx"
        if not got.is_file():
            raise InputError(f"b4 am found no patches for <{rev.message_id}>",
                             path=str(local) if local else None)
        return _store(series, rev, got, dest, "b4-local" if local else "b4")


def _store(series, rev, src: Path, dest: Path, method: str) -> FetchResult:
    """Check the mbox, then copy it into place with its hashes (all or nothing)."""
    items = split_mbox(src)
    if rev.patches is not None and len(items) != rev.patches:
        raise InputError(f"mbox holds {len(items)} patches; the manifest says "
                         f"{series.name}@{rev.label} has {rev.patches}", path=str(src))
    text = read_text(src)
    digest = sha256_text(text)
    if src.resolve() != dest.resolve():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.parent / f".{dest.name}.tmp"
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
    atomic_write(dest.parent / "SHA256SUMS", f"{digest}  {dest.name}\n")
    write_json(dest.parent / "fetch.json", {
        "message_id": rev.message_id, "lore": rev.lore_url, "method": method,
        "mbox": dest.name, "sha256": digest,
        "fetched": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "patches": [{"n": i, "subject": it.subject, "sha256": it.sha256}
                    for i, it in enumerate(items, 1)]})
    return FetchResult(series.name, rev.label, dest, digest, method,
                       [it.subject for it in items])
