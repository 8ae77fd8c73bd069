"""Pure parsers over build log lines: warnings (compiler, kernel-doc, sparse,
modpost, linker), first errors per file, and the comparison with a base build."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass

COMPILER, KERNEL_DOC, SPARSE, MODPOST, LINKER = (
    "compiler", "kernel-doc", "sparse", "modpost", "linker")

WITH_COL = re.compile(
    r"^(?P<file>[^\s:]+):(?P<line>\d+):(?P<col>\d+): warning: (?P<msg>.*?)"
    r"(?: \[(?P<flag>-W[^\]]+)\])?\s*$")
NO_COL = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+): warning: (?P<msg>.*?)\s*$")
MODPOST_RE = re.compile(r"^WARNING: modpost: (?P<msg>.*?)\s*$")
LINKER_RE = re.compile(r"^(?:\S*/)?(?:ld|ld\.lld(?:-\d+)?|ld\.bfd): warning: (?P<msg>.*?)\s*$")
KBUILD_STEP = re.compile(r"^\s+(?P<step>[A-Z][A-Z0-9_]*)\s+(?P<target>\S+)")
OBJ_IN_MSG = re.compile(r"(?P<file>[\w./+-]+\.(?:o|ko|c|h))\b")
ERROR_RE = re.compile(
    r"^(?P<file>[^\s:]+):(?P<line>\d+)(?::(?P<col>\d+))?: (?:fatal )?error: (?P<msg>.*?)\s*$")
LINK_ERROR_RE = re.compile(
    r"^(?:\S*ld(?:\.\w+)?: )?(?P<file>[^\s:]+?)(?::(?P<line>\d+))?(?::\([.\w]+\+0x[0-9a-f]+\))?"
    r": (?P<msg>undefined reference to .*?)\s*$")
MAKE_ERROR_RE = re.compile(
    r"^make(?:\[\d+\])?: \*\*\* \[(?:[^\]:]+:\d+: )?(?P<file>[^\]]+)\] Error \d+")


@dataclass(frozen=True)
class Warning:
    kind: str
    file: str
    line: int | None
    col: int | None
    message: str
    flag: str | None = None

    def text(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.col is not None:
                where += f":{self.col}"
        flag = f" [{self.flag}]" if self.flag else ""
        head = "WARNING: modpost" if self.kind == MODPOST else f"{where}: warning"
        return f"{head}: {self.message}{flag}"

    def match_key(self) -> tuple:
        """What stays the same when unrelated lines move: file, kind, message."""
        return (self.kind, self.file, self.message, self.flag)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Warning":
        return cls(d["kind"], d["file"], d.get("line"), d.get("col"), d["message"],
                   d.get("flag"))


def norm_path(path: str, strip: tuple[str, ...] = ()) -> str:
    for p in strip:
        if p and path.startswith(p.rstrip("/") + "/"):
            path = path[len(p.rstrip("/")) + 1:]
            break
    while path.startswith("./"):
        path = path[2:]
    while path.startswith("../"):
        path = path[3:]
    return path


def parse_warnings(lines, strip: tuple[str, ...] = ()) -> list[Warning]:
    """Warnings in log order, duplicates (one header seen from many .c) once."""
    out: list[Warning] = []
    seen: set[Warning] = set()
    checking: str | None = None        # source file of the last `CHECK` step (sparse)
    for raw in lines:
        line = raw.rstrip("\n")
        step = KBUILD_STEP.match(line)
        if step:
            checking = norm_path(step["target"], strip) if step["step"] == "CHECK" else None
            continue
        w = _one(line, strip, checking)
        if w is not None and w not in seen:
            seen.add(w)
            out.append(w)
    return out


def _one(line: str, strip: tuple[str, ...], checking: str | None) -> Warning | None:
    m = WITH_COL.match(line)
    if m:
        kind = SPARSE if checking is not None and not m["flag"] else COMPILER
        return Warning(kind, norm_path(m["file"], strip), int(m["line"]), int(m["col"]),
                       m["msg"], m["flag"])
    m = NO_COL.match(line)
    if m:
        kind = SPARSE if checking is not None else KERNEL_DOC
        return Warning(kind, norm_path(m["file"], strip), int(m["line"]), None, m["msg"])
    m = MODPOST_RE.match(line)
    if m:
        f = OBJ_IN_MSG.search(m["msg"])
        return Warning(MODPOST, norm_path(f["file"], strip) if f else "", None, None, m["msg"])
    m = LINKER_RE.match(line)
    if m:
        f = OBJ_IN_MSG.search(m["msg"])
        return Warning(LINKER, norm_path(f["file"], strip) if f else "", None, None, m["msg"])
    return None


def new_warnings(current: list[Warning], base: list[Warning]) -> list[Warning]:
    """Warnings of `current` that `base` lacks, matching on file+kind+message so a
    warning whose line moved is not new. Counts matter: a second copy is new."""
    left = Counter(w.match_key() for w in base)
    out = []
    for w in current:
        k = w.match_key()
        if left[k] > 0:
            left[k] -= 1
        else:
            out.append(w)
    return out


def warnings_report(current: list[Warning], new: list[Warning], title: str = "") -> str:
    """Robot style: every warning, the ones the series adds marked with `>>`."""
    new_ids = Counter(id(w) for w in new)
    lines = [title] if title else []
    lines.append(f"{len(current)} warnings, {len(new)} new")
    for w in current:
        lines.append((">> " if new_ids[id(w)] else "   ") + w.text())
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class FileError:
    file: str
    line: int | None
    message: str
    context: str            # the raw log line

    def text(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: error: {self.message}"


def first_errors(lines, strip: tuple[str, ...] = ()) -> list[FileError]:
    """The first error of each file, in log order. Files that only show up in
    make's `*** [...] Error` lines are listed with that line."""
    found: dict[str, FileError] = {}
    make_failed: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.rstrip("\n")
        m = ERROR_RE.match(line)
        if m:
            f = norm_path(m["file"], strip)
            found.setdefault(f, FileError(f, int(m["line"]), m["msg"], line))
            continue
        m = LINK_ERROR_RE.match(line)
        if m:
            f = norm_path(m["file"], strip)
            ln = int(m["line"]) if m["line"] else None
            found.setdefault(f, FileError(f, ln, m["msg"], line))
            continue
        m = MAKE_ERROR_RE.match(line)
        if m:
            make_failed.append((norm_path(m["file"], strip), line))
    if not found:
        for f, line in make_failed:
            found.setdefault(f, FileError(f, None, "make target failed", line))
    return list(found.values())
