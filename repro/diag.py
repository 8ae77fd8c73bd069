"""Compiler, kernel-doc, sparse, linker and modpost diagnostics, one line at a time.

Pure: a list of lines in, a list of Diagnostic out. Used on robot reports (where
new diagnostics carry a '>>' prefix) and on build logs.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

IN_FUNCTION = re.compile(r"^(?P<file>\S+): In function [‘'`](?P<func>[^’'`]+)[’'`]:")
LD_IN_FUNCTION = re.compile(r"^(?:\S*ld(?:\.\w+)?: )?(?P<obj>\S+\.o): in function [`'‘](?P<func>[^'’`]+)[’']:")
COMPILER = re.compile(
    r"^(?P<file>[^\s:]+):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<kind>warning|error|note|sparse): "
    r"(?:sparse: )?(?P<msg>.*?)(?: \[(?P<flag>-W[\w=,-]+)\])?$")
LD_UNDEF = re.compile(r"^(?P<file>[^\s:]+):\(\.[\w.]+\+0x[0-9a-f]+\): (?P<msg>undefined reference to .*)$")
MODPOST = re.compile(r"^(?P<kind>ERROR|WARNING): modpost: (?P<msg>.*)$")
OBJTOOL = re.compile(r"^(?P<file>\S+\.o): (?P<kind>warning|error): objtool: (?P<msg>.*)$")
DESCRIBED_IN = re.compile(r"(?:not described in|Excess \w+ parameter '[^']+' description in) '(?P<func>[^']+)'")


@dataclass
class Diagnostic:
    file: str
    line: int | None
    kind: str              # warning, error, note, sparse, kernel-doc, modpost, ld, objtool
    message: str
    function: str | None = None
    col: int | None = None
    flag: str | None = None
    new: bool = False      # marked '>>' in a robot report

    def key(self) -> tuple[str, str, str]:
        """What two diagnostics must share to be the same one (line drift tolerated)."""
        return (self.file.lstrip("./"), self.function or "", normalize(self.message))

    def to_dict(self) -> dict:
        return asdict(self)

    def render(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        mark = ">> " if self.new else "   "
        return f"{mark}{where}: {self.kind}: {self.message}" + (f" [{self.flag}]" if self.flag else "")


def normalize(msg: str) -> str:
    msg = msg.replace("‘", "'").replace("’", "'").replace("`", "'")
    msg = re.sub(r"0x[0-9a-f]+", "0x", msg)
    return re.sub(r"\s+", " ", msg).strip()


def strip_marker(line: str) -> tuple[str, bool]:
    """Remove a robot report's '>>' (new) or leading-space (context) prefix."""
    if line.startswith(">>"):
        return line[2:].strip(), True
    return line.strip(), False


def _compiler(m: re.Match, func: str | None, new: bool) -> Diagnostic:
    kind = m["kind"]
    msg = m["msg"] if kind == "sparse" else m["msg"].strip()
    dm = DESCRIBED_IN.search(msg)
    if kind == "warning" and m["col"] is None and dm:
        kind, func = "kernel-doc", dm["func"]
    return Diagnostic(m["file"], int(m["line"]), kind, msg, func,
                      int(m["col"]) if m["col"] else None, m["flag"], new)


def parse_line(text: str, func: str | None, new: bool) -> Diagnostic | None:
    m = COMPILER.match(text)
    if m:
        return _compiler(m, func, new)
    m = LD_UNDEF.match(text)
    if m:
        return Diagnostic(m["file"], None, "ld", m["msg"], func, new=new)
    m = MODPOST.match(text)
    if m:
        return Diagnostic("modpost", None, "modpost", m["msg"], None, new=new)
    m = OBJTOOL.match(text)
    if m:
        return Diagnostic(m["file"], None, "objtool", m["msg"], func, new=new)
    return None


def parse_diagnostics(lines: list[str]) -> list[Diagnostic]:
    """Every diagnostic in `lines`. 'In function' context lines set the function
    of the diagnostics that follow them for the same file."""
    out: list[Diagnostic] = []
    ctx_file, ctx_func = None, None
    for raw in lines:
        text, new = strip_marker(raw)
        m = IN_FUNCTION.match(text) or LD_IN_FUNCTION.match(text)
        if m:
            ctx_file = m.groupdict().get("file") or m.groupdict().get("obj")
            ctx_func = m["func"]
            continue
        d = parse_line(text, None, new)
        if d is None:
            continue
        if d.kind == "sparse" and d.message.startswith(" ") and out:
            out[-1].message += " | " + d.message.strip()   # sparse's expected/got lines
            continue
        if d.function is None and ctx_func and _same_unit(ctx_file, d.file):
            d.function = ctx_func
        out.append(d)
    return out


def _same_unit(ctx: str | None, file: str) -> bool:
    if ctx is None:
        return False
    stem = lambda p: p.rsplit("/", 1)[-1].rsplit(".", 1)[0]  # noqa: E731
    return stem(ctx) == stem(file)
