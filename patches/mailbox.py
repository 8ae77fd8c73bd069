"""Read patches: mbox files (b4 output, git format-patch), single .patch files, and
header-less diffs (quilt). Every patch is checked by diffcheck before anything applies.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.parser import Parser
from pathlib import Path

from common.errors import InputError

from .diffcheck import FileDiff, bad_name_chars, parse_diff

FROM_LINE_RE = re.compile(r"^From \S+ +(Mon|Tue|Wed|Thu|Fri|Sat|Sun) "
                          r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d+ "
                          r"\d\d:\d\d:\d\d \d{4}\s*$")
HEADER_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*: ")
PREFIX_RE = re.compile(r"^\s*(\[[^\]]*\]\s*)+")
NUMBER_RE = re.compile(r"\[[^\]]*?(\d+)/(\d+)\s*\]")
FIXED_DATE = "Sat, 1 Jan 2000 00:00:00 +0000"
ENC = "surrogateescape"   # byte-exact round trip for patches that are not UTF-8


@dataclass
class PatchItem:
    """One patch, ready for `git am`."""
    name: str            # the file name, or "<mbox name>#<n>" for a message in an mbox
    path: Path           # the file it came from
    line: int            # where it starts in that file
    subject: str         # without the [PATCH ...] prefix
    author: str | None
    message: str         # the mail `git am` gets
    sha256: str          # of the patch as stored
    files: list[FileDiff]
    strip: int = 1


def read_text(path: Path) -> str:
    try:
        return Path(path).read_bytes().decode("utf-8", ENC)
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path=str(path)) from e


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", ENC)).hexdigest()


def clean_subject(subject: str) -> str:
    return " ".join(PREFIX_RE.sub("", subject or "").split())


def check_file_name(name: str, path: str, line: int | None = None) -> None:
    bad = bad_name_chars(name)
    if bad or name.startswith("-") or "/" in name and ".." in name.split("/"):
        raise InputError(f"patch file name {name!r} has shell metacharacters {bad!r} "
                         "or leaves its directory", path=path, line=line,
                         hint="rename the file to letters, digits, '.', '_', '-', '+'")


def has_mail_headers(text: str) -> bool:
    lines = text.splitlines()
    if lines and FROM_LINE_RE.match(lines[0]):
        return True
    head = []
    for ln in lines:
        if not ln.strip():
            break
        head.append(ln)
    keys = {h.split(":", 1)[0].lower() for h in head if HEADER_RE.match(h)}
    return bool(head) and {"from", "subject"} <= keys


def _headers(text: str):
    return Parser(policy=policy.default).parsestr(text, headersonly=True)


def split_mbox(path: Path) -> list[PatchItem]:
    """The patches of an mbox, in series order; cover letters and replies are dropped.
    InputError (file and line) for an empty or malformed mbox or a message with no diff."""
    text = read_text(path)
    spath = str(path)
    if not text.strip():
        raise InputError("empty mbox", path=spath, line=1)
    lines = text.splitlines(keepends=True)
    if not FROM_LINE_RE.match(lines[0]):
        raise InputError("malformed mbox: the first line is not a 'From <id> <date>' line",
                         path=spath, line=1)
    starts = [i for i, ln in enumerate(lines) if FROM_LINE_RE.match(ln)] + [len(lines)]
    items, numbers = [], []
    for k in range(len(starts) - 1):
        a, b = starts[k], starts[k + 1]
        msg = "".join(lines[a + 1:b])
        item, num = _mbox_message(msg, path, a + 1, k + 1)
        if item is not None:
            items.append(item)
            numbers.append(num)
    if not items:
        raise InputError("mbox holds no patches (only a cover letter or replies)",
                         path=spath, line=1)
    return _order(items, numbers, spath)


def _mbox_message(msg: str, path: Path, line: int, n: int):
    hdr = _headers(msg)
    raw_subject = str(hdr.get("Subject", "") or "")
    if not hdr.get("From") or not raw_subject:
        raise InputError(f"malformed mbox: message {n} has no From: or Subject: header",
                         path=str(path), line=line)
    if raw_subject.lower().startswith(("re:", "aw:")):
        return None, None
    m = NUMBER_RE.search(raw_subject)
    num = (int(m.group(1)), int(m.group(2))) if m else None
    if num and num[0] == 0:
        return None, None
    body_at = msg.find("\n\n")
    body = msg[body_at + 2:] if body_at >= 0 else ""
    body_line = line + 1 + (msg[:body_at + 2].count("\n") if body_at >= 0 else 0)
    files = parse_diff(body, str(path), body_line)
    item = PatchItem(name=f"{path.name}#{n}", path=path, line=line,
                     subject=clean_subject(raw_subject), author=str(hdr.get("From")),
                     message=msg, sha256=sha256_text(msg), files=files)
    return item, num


def _order(items: list[PatchItem], numbers: list, path: str) -> list[PatchItem]:
    """Sort by the n/N in the subjects when every patch has one; check 1..N is whole."""
    if not all(numbers):
        return items
    seen: dict[int, PatchItem] = {}
    total = numbers[0][1]
    for item, (i, tot) in zip(items, numbers):
        if i in seen:
            raise InputError(f"patch {i}/{tot} appears twice (messages at lines "
                             f"{seen[i].line} and {item.line})", path=path, line=item.line)
        seen[i] = item
        total = max(total, tot)
    missing = [i for i in range(1, total + 1) if i not in seen]
    if missing:
        raise InputError(f"incomplete series: patch(es) {missing} of {total} missing",
                         path=path, line=1)
    return [seen[i] for i in sorted(seen)]


def subject_from_filename(name: str) -> str:
    stem = re.sub(r"\.(patch|diff)$", "", name)
    stem = re.sub(r"^\d+[-_]", "", stem)
    return " ".join(stem.replace("_", " ").replace("-", " ").split())


def read_patch_file(path: Path, *, author: str | None, strip: int = 1,
                    date: str | None = None) -> PatchItem:
    """A .patch file: a mail (git format-patch) goes to `git am` as it is; a bare diff
    (quilt) gets a mail made for it: subject from the file name, author given."""
    check_file_name(path.name, str(path.parent))
    text = read_text(path)
    if not text.strip():
        raise InputError("empty patch file", path=str(path), line=1)
    if has_mail_headers(text):
        lines = text.splitlines(keepends=True)
        skip = 1 if FROM_LINE_RE.match(lines[0]) else 0
        msg = "".join(lines[skip:])
        hdr = _headers(msg)
        body_at = msg.find("\n\n")
        first = 1 + skip + (msg[:body_at + 2].count("\n") if body_at >= 0 else 0)
        files = parse_diff(msg[body_at + 2:] if body_at >= 0 else "", str(path), first, strip)
        return PatchItem(path.name, path, 1, clean_subject(str(hdr.get("Subject", ""))),
                         str(hdr.get("From") or author or ""), msg, sha256_text(text),
                         files, strip)
    files = parse_diff(text, str(path), 1, strip)
    if not author:
        raise InputError("patch has no mail headers and the manifest names no author",
                         path=str(path), line=1)
    subject = subject_from_filename(path.name)
    msg = _synth_mail(text, subject, author, date or FIXED_DATE)
    return PatchItem(path.name, path, 1, subject, author, msg, sha256_text(text), files,
                     strip)


def _synth_mail(text: str, subject: str, author: str, date: str) -> str:
    """Description lines (before the first diff header) become the commit body."""
    lines = text.splitlines(keepends=True)
    cut = next((i for i, ln in enumerate(lines)
                if ln.startswith(("diff ", "--- ", "Index: "))), 0)
    desc = "".join(ln for ln in lines[:cut] if ln.strip() != "---").strip()
    head = f"From: {author}\nDate: {date}\nSubject: [PATCH] {subject}\n\n"
    return head + (desc + "\n" if desc else "") + "---\n" + "".join(lines[cut:])
