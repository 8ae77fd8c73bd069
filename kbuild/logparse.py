"""The one parser of compiler diagnostics, and what makes two of them the same.

Pure functions over lines. They read kernel build logs (gcc, clang, sparse,
kernel-doc, modpost, ld, objtool) and the diagnostics block of a kernel test
robot report (lines marked `>>` are the new ones). `Diagnostic.key()` is the
only definition of "the same warning": file, function and message, so a
warning whose line moved is still the same one. The build's new-warnings delta
and repro's report matching both use it. Also: the first error of each file.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field

COMPILER, KERNEL_DOC, SPARSE, MODPOST, LINKER, OBJTOOL = (
    "compiler", "kernel-doc", "sparse", "modpost", "linker", "objtool")
WARNING, ERROR, NOTE = "warning", "error", "note"

DIAG_RE = re.compile(
    r"^(?P<file>[^\s:]+):(?P<line>\d+):(?:(?P<col>\d+):)? "
    r"(?P<sev>warning|error|fatal error|note|sparse): (?:sparse: )?(?P<msg>.*?)"
    r"(?: \[(?P<flag>-W[^\]]+)\])?\s*$")
MODPOST_RE = re.compile(r"^(?P<sev>WARNING|ERROR): modpost: (?P<msg>.*?)\s*$")
LINKER_RE = re.compile(
    r"^(?:\S*/)?(?:ld|ld\.lld(?:-\d+)?|ld\.bfd): (?P<sev>warning|error): (?P<msg>.*?)\s*$")
LD_UNDEF = re.compile(
    r"^(?P<file>[^\s:]+):\(\.[\w.]+\+0x[0-9a-f]+\): (?P<msg>undefined reference to .*?)\s*$")
OBJTOOL_RE = re.compile(r"^(?P<file>\S+\.o): (?P<sev>warning|error): objtool: (?P<msg>.*?)\s*$")
IN_FUNCTION = re.compile(r"^(?P<file>\S+): In function [‘'`](?P<func>[^’'`]+)[’'`]:")
LD_IN_FUNCTION = re.compile(
    r"^(?:\S*ld(?:\.\w+)?: )?(?P<file>\S+\.o): in function [`'‘](?P<func>[^'’`]+)[’']:")
TOP_LEVEL = re.compile(r"^\S+: At top level:")
INCLUDED = re.compile(r"^(?:In file included )?from (?P<file>[^\s:]+):\d+")
DESCRIBED_IN = re.compile(
    r"(?:not described in|Excess \w+ parameter '[^']+' description in) '(?P<func>[^']+)'")
KBUILD_STEP = re.compile(r"^\s+(?P<step>[A-Z][A-Z0-9_-]*)(?: \[M\])?\s+(?P<target>\S+)")
OBJ_IN_MSG = re.compile(r"(?P<file>[\w./+-]+\.(?:o|ko|c|h))\b")
OBJECT_SUFFIXES = (".o", ".s", ".i", ".lst")
MODPOST_UNIT, LINK_UNIT, OTHER_UNIT = "(modpost)", "(link)", "(other)"
ERROR_RE = re.compile(
    r"^(?P<file>[^\s:]+):(?P<line>\d+)(?::(?P<col>\d+))?: (?:fatal )?error: (?P<msg>.*?)\s*$")
LINK_ERROR_RE = re.compile(
    r"^(?:\S*ld(?:\.\w+)?: )?(?P<file>[^\s:]+?)(?::(?P<line>\d+))?(?::\([.\w]+\+0x[0-9a-f]+\))?"
    r": (?P<msg>undefined reference to .*?)\s*$")
MAKE_ERROR_RE = re.compile(
    r"^make(?:\[\d+\])?: \*\*\* \[(?:[^\]:]+:\d+: )?(?P<file>[^\]]+)\] Error \d+")


@dataclass(frozen=True)
class Diagnostic:
    kind: str                   # compiler, kernel-doc, sparse, modpost, linker, objtool
    file: str                   # relative to the source tree where the log allows
    line: int | None
    col: int | None
    message: str
    flag: str | None = None     # -Wunused-variable
    function: str | None = None
    severity: str = WARNING     # warning, error, note
    new: bool = field(default=False, compare=False)      # marked `>>` in a robot report
    unit: str | None = field(default=None, compare=False)  # the object whose build printed it

    def text(self) -> str:
        """The diagnostic as the tool printed it."""
        flag = f" [{self.flag}]" if self.flag else ""
        if self.kind == MODPOST:
            return f"{self.severity.upper()}: modpost: {self.message}"
        if self.kind == OBJTOOL:
            return f"{self.file}: {self.severity}: objtool: {self.message}"
        where = self.file or "ld"
        if self.line is not None:
            where += f":{self.line}" + (f":{self.col}" if self.col is not None else "")
        return f"{where}: {self.severity}: {self.message}{flag}"

    def render(self) -> str:
        """A line of a robot report: `>> ` marks a new one."""
        return (">> " if self.new else "   ") + self.text()

    def key(self) -> tuple[str, str, str]:
        """What two diagnostics share when they are the same one: file, function and
        message. The line is left out, so a warning that moved is not a new one."""
        return (norm_path(self.file), self.function or "", normalize(self.message))

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("unit")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Diagnostic":
        return cls(d["kind"], d["file"], d.get("line"), d.get("col"), d["message"],
                   d.get("flag"), d.get("function"), d.get("severity", WARNING),
                   bool(d.get("new", False)))


def normalize(msg: str) -> str:
    """A message as compared: one quote style, no addresses, no sparse `@@` tail
    (a robot report appends sparse's expected/got lines to the message)."""
    msg = msg.split(" @@ ", 1)[0]
    msg = msg.replace("‘", "'").replace("’", "'").replace("`", "'")
    msg = re.sub(r"0x[0-9a-f]+", "0x", msg)
    return re.sub(r"\s+", " ", msg).strip()


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


def strip_marker(line: str) -> tuple[str, bool]:
    """A robot report's `>>` (new) or indent (context) off a line."""
    if line.startswith(">>"):
        return line[2:].strip(), True
    return line.strip(), False


@dataclass
class _Context:
    """What the lines before a diagnostic said about it."""
    step: str | None = None           # the last kbuild step (CC, CHECK, LD ...)
    target: str | None = None         # its target, normalized
    tu: str | None = None             # the .c/.S of an `In file included from` chain
    func_file: str | None = None
    func: str | None = None


def parse_diagnostics(lines, strip: tuple[str, ...] = ()) -> list[Diagnostic]:
    """Every diagnostic in `lines`, in order, each with the function its `In
    function` line named and the object (`unit`) whose build printed it."""
    out: list[Diagnostic] = []
    ctx = _Context()
    for raw in lines:
        if _step(raw, ctx, strip):
            continue
        text, new = strip_marker(raw)
        if _context(text, ctx, strip):
            continue
        d = _one(text, ctx, strip, new)
        if d is not None:
            out.append(d)
    return out


def parse_warnings(lines, strip: tuple[str, ...] = ()) -> list[Diagnostic]:
    """The warnings of a log, in order; one header's warning seen from many .c once."""
    return dedup(d for d in parse_diagnostics(lines, strip) if d.severity == WARNING)


def dedup(diags) -> list[Diagnostic]:
    seen: set[Diagnostic] = set()
    out = []
    for d in diags:
        if d not in seen:
            seen.add(d)
            out.append(d)
    return out


def _step(raw: str, ctx: _Context, strip) -> bool:
    """A kbuild step line (`  CC      fs/namei.o`) starts a new context."""
    m = KBUILD_STEP.match(raw)
    if m is None:
        return False
    ctx.step, ctx.target = m["step"], norm_path(m["target"], strip)
    ctx.tu = ctx.func_file = ctx.func = None
    return True


def _context(text: str, ctx: _Context, strip) -> bool:
    """Update ctx from a context line; False when the line is not one."""
    m = INCLUDED.match(text)
    if m:
        f = norm_path(m["file"], strip)
        if f.endswith((".c", ".S")):
            ctx.tu = f
        return True
    m = IN_FUNCTION.match(text) or LD_IN_FUNCTION.match(text)
    if m:
        ctx.func_file, ctx.func = norm_path(m["file"], strip), m["func"]
        return True
    if TOP_LEVEL.match(text):
        ctx.func_file = ctx.func = None
        return True
    return False


def _one(text: str, ctx: _Context, strip, new: bool) -> Diagnostic | None:
    d = _compiler(text, ctx, strip, new) or _other(text, strip, new)
    if d is None:
        return None
    if d.function is None and d.kind in (COMPILER, LINKER) and _same_unit(ctx.func_file, d.file):
        d = _with(d, function=ctx.func)
    return _with(d, unit=unit_of(d, ctx))


def _with(d: Diagnostic, **kw) -> Diagnostic:
    return Diagnostic(**{**asdict(d), **kw})


def _compiler(text: str, ctx: _Context, strip, new: bool) -> Diagnostic | None:
    m = DIAG_RE.match(text)
    if m is None or (m["sev"] == "sparse" and m["msg"][:1].isspace()):
        return None                    # not one, or sparse's expected/got detail line
    sev = {"sparse": WARNING, "fatal error": ERROR}.get(m["sev"], m["sev"])
    col = int(m["col"]) if m["col"] else None
    checking = ctx.step == "CHECK"
    described = DESCRIBED_IN.search(m["msg"])
    if m["sev"] == "sparse" or (checking and not m["flag"]):
        kind = SPARSE
    elif col is None and sev == WARNING:
        kind = KERNEL_DOC
    else:
        kind = COMPILER
    func = described["func"] if kind == KERNEL_DOC and described else None
    return Diagnostic(kind, norm_path(m["file"], strip), int(m["line"]), col, m["msg"].strip(),
                      m["flag"], func, sev, new)


def _other(text: str, strip, new: bool) -> Diagnostic | None:
    m = MODPOST_RE.match(text)
    if m:
        f = OBJ_IN_MSG.search(m["msg"])
        return Diagnostic(MODPOST, norm_path(f["file"], strip) if f else "", None, None,
                          m["msg"], severity=m["sev"].lower(), new=new)
    m = LINKER_RE.match(text)
    if m:
        f = OBJ_IN_MSG.search(m["msg"])
        return Diagnostic(LINKER, norm_path(f["file"], strip) if f else "", None, None,
                          m["msg"], severity=m["sev"], new=new)
    m = LD_UNDEF.match(text)
    if m:
        return Diagnostic(LINKER, norm_path(m["file"], strip), None, None, m["msg"],
                          severity=ERROR, new=new)
    m = OBJTOOL_RE.match(text)
    if m:
        return Diagnostic(OBJTOOL, norm_path(m["file"], strip), None, None, m["msg"],
                          severity=m["sev"], new=new)
    return None


def _same_unit(ctx: str | None, file: str) -> bool:
    """An `In function` line of x.c (or x.o, for the linker) speaks for x.c."""
    if ctx is None:
        return False
    stem = lambda p: p.rsplit("/", 1)[-1].rsplit(".", 1)[0]  # noqa: E731
    return stem(ctx) == stem(file)


def unit_of(d: Diagnostic, ctx: _Context) -> str:
    """The object whose build printed d: the .o of its .c, of the .c that included
    its header, or of the step it came under; modpost and the vmlinux link are units
    of their own."""
    if d.kind == MODPOST:
        return MODPOST_UNIT
    if d.kind == LINKER:
        return LINK_UNIT
    if d.kind == OBJTOOL:
        return d.file
    src = d.file if d.file.endswith((".c", ".S")) else ctx.tu
    if src:
        return src[:-2] + ".o"
    if ctx.target and ctx.target.endswith(OBJECT_SUFFIXES):
        return ctx.target
    return OTHER_UNIT


def compiled_units(lines, strip: tuple[str, ...] = ()) -> set[str]:
    """The units a build log shows being made: each object of a CC/AS/... step
    (CHECK names the .c), modpost, and the vmlinux link. OTHER_UNIT always, for the
    warnings no step claims."""
    units = {OTHER_UNIT}
    for raw in lines:
        m = KBUILD_STEP.match(raw)
        if m is None:
            continue
        target = norm_path(m["target"], strip)
        base = target.rsplit("/", 1)[-1]
        if m["step"] == "MODPOST":
            units.add(MODPOST_UNIT)
        elif m["step"] == "LD" and base.startswith(("vmlinux", ".tmp_vmlinux")):
            units.add(LINK_UNIT)
        elif m["step"] == "CHECK" and target.endswith((".c", ".S")):
            units.add(target[:-2] + ".o")
        elif target.endswith(OBJECT_SUFFIXES):
            units.add(target)
    return units


def new_warnings(current: list[Diagnostic], base: list[Diagnostic]) -> list[Diagnostic]:
    """Warnings of `current` that `base` lacks, robot-style: the same file, function
    and message (Diagnostic.key), whatever the line. Counts matter: a second copy
    of a known warning is new."""
    left = Counter(w.key() for w in base)
    out = []
    for w in current:
        k = w.key()
        if left[k] > 0:
            left[k] -= 1
        else:
            out.append(w)
    return out


def warnings_report(current: list[Diagnostic], new: list[Diagnostic], title: str = "") -> str:
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
