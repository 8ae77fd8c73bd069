"""Where a revision's patches are, reading them, and the listing status."""
from __future__ import annotations

import re
from pathlib import Path

from common.errors import HarnessError, InputError

from .mailbox import PatchItem, check_file_name, read_patch_file, read_text, split_mbox
from .model import Revision, RevisionStatus, Series, Source

MBOX_EXT = (".mbx", ".mbox")
PATCH_EXT = (".patch", ".diff")
QUILT_LINE_RE = re.compile(r"^(\S+)(?:\s+-p(\d))?\s*$")


def rev_dir(series: Series, rev: Revision) -> Path:
    return series.dir / rev.label


def mbox_path(series: Series, rev: Revision) -> Path:
    """Where fetch stores a revision's mbox (and where a user may put one by hand)."""
    return rev_dir(series, rev) / f"{rev.label}.mbx"


def find_source(series: Series, rev: Revision) -> Source | None:
    """The declared source, or what patches/series/<series>/<label>/ holds: a quilt `series`
    file, one mbox, or .patch files. None when there is nothing yet."""
    if rev.source is not None:
        return rev.source if rev.source.path.exists() else None
    d = rev_dir(series, rev)
    if not d.is_dir():
        return None
    if (d / "series").is_file():
        return Source("quilt", d / "series")
    mboxes = sorted(p for p in d.iterdir() if p.suffix in MBOX_EXT)
    if len(mboxes) > 1:
        raise InputError(f"more than one mbox in {d}: {', '.join(p.name for p in mboxes)}",
                         path=str(d), hint="keep one, or name it in the manifest's source")
    if mboxes:
        return Source("mbox", mboxes[0])
    if any(p.suffix in PATCH_EXT for p in d.iterdir()):
        return Source("dir", d)
    return None


def load_patches(series: Series, rev: Revision) -> list[PatchItem]:
    """Every patch of the revision, checked; InputError names file and line."""
    src = find_source(series, rev)
    if src is None:
        where = rev.source.path if rev.source else rev_dir(series, rev)
        hint = (f"harness.py fetch {series.name}@{rev.label}" if rev.message_id
                else "the patches have not been written yet")
        raise InputError(f"revision {rev.label} has no patches at {where}",
                         path=str(series.manifest), line=rev.line, hint=hint)
    author = rev.author or series.authors[0]
    date = _mail_date(rev.date)
    if src.kind == "mbox":
        check_file_name(src.path.name, str(src.path.parent))
        return split_mbox(src.path)
    if src.kind == "quilt":
        return read_quilt(src.path, author=author, date=date)
    files = sorted(p for p in src.path.iterdir()
                   if p.suffix in PATCH_EXT and not is_cover_letter(p))
    if not files:
        raise InputError("no .patch files", path=str(src.path))
    return [read_patch_file(p, author=author, date=date) for p in files]


def is_cover_letter(path: Path) -> bool:
    """`git format-patch --cover-letter` output: 0000-cover-letter.patch, no diff."""
    return path.name.startswith("0000-") and "cover-letter" in path.name


def _inside(series_file: Path, name: str, n: int) -> Path:
    """The patch a quilt series line names, proven to stay in the series file's dir:
    no absolute path, no `..`, no symlink out of it."""
    parts = name.split("/")
    if name.startswith("/") or any(x in ("", ".", "..") for x in parts):
        raise InputError(f"quilt series entry {name!r} leaves the series dir (absolute "
                         "path, '.' or '..')", path=str(series_file), line=n)
    for part in parts:
        check_file_name(part, str(series_file), n)
    root = series_file.parent.resolve()
    p = series_file.parent / name
    if not p.resolve().is_relative_to(root):
        raise InputError(f"quilt series entry {name!r} is a link out of the series dir",
                         path=str(series_file), line=n)
    return p


def quilt_entries(series_file: Path) -> list[tuple[Path, int]]:
    """(patch file, -pN) of each line of a quilt `series` file (# comments), each
    proven to stay in the series dir and to exist."""
    out = []
    for n, raw in enumerate(read_text(series_file).splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = QUILT_LINE_RE.match(line)
        if not m:
            raise InputError(f"not a quilt series line: {raw!r}", path=str(series_file), line=n)
        p = _inside(series_file, m.group(1), n)
        if not p.is_file():
            raise InputError(f"patch {m.group(1)!r} listed in the series file does not exist",
                             path=str(series_file), line=n)
        out.append((p, int(m.group(2) or 1)))
    if not out:
        raise InputError("quilt series file lists no patches", path=str(series_file), line=1)
    return out


def read_quilt(series_file: Path, *, author: str, date: str | None = None) -> list[PatchItem]:
    """A quilt `series` file: one patch name per line, optional -pN, # comments."""
    return [read_patch_file(p, author=author, strip=strip, date=date)
            for p, strip in quilt_entries(series_file)]


def _mail_date(date: str | None) -> str | None:
    if not date:
        return None
    import datetime
    from email.utils import format_datetime
    d = datetime.date.fromisoformat(date)
    return format_datetime(datetime.datetime(d.year, d.month, d.day,
                                             tzinfo=datetime.timezone.utc))


def revision_status(series: Series, rev: Revision) -> RevisionStatus:
    st = RevisionStatus(rev.label, "", expected=rev.patches)
    try:
        src = find_source(series, rev)
        if src is None:
            st.state = "not fetched" if rev.kind == "posting" else "no patches yet"
            return st
        st.source = src
        st.present = len(load_patches(series, rev))
        st.state = "present"
    except HarnessError as e:
        st.state, st.error = "invalid", str(e)
    return st
