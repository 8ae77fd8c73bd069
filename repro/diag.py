"""The diagnostics of a robot report, read by the build's own parser.

A robot report's diagnostics block is read by kbuild.logparse, the same parser
that reads build logs, so a reported warning and a built one are parsed alike and
compared by the one Diagnostic.key() (file, function, message; line drift
tolerated). Lines marked `>>` come out with new=True. repro reads both sides with
parse_diagnostics here, which adds what the build parser leaves out: GNU ld's
undefined references that carry a source line (`kernel/foo.c:125:(.text+0x2111af):
undefined reference to 'bar'`, from objects with debug info).
"""
import re

from kbuild.logparse import (ERROR, LD_IN_FUNCTION, LINKER, Diagnostic, norm_path, normalize,
                             strip_marker)
from kbuild.logparse import parse_diagnostics as parse_build_diagnostics

__all__ = ["Diagnostic", "normalize", "parse_diagnostics", "strip_marker", "LD_LINE_UNDEF"]

LD_LINE_UNDEF = re.compile(
    r"^(?:\S*ld(?:\.bfd)?: )?(?P<file>[^\s:]+):(?P<line>\d+):\(\.[\w.]+\+0x[0-9a-f]+\): "
    r"(?P<msg>undefined reference to .*?)\s*$")


def parse_diagnostics(lines, strip: tuple[str, ...] = ()) -> list[Diagnostic]:
    lines = list(lines)
    out = parse_build_diagnostics(lines, strip)
    func_obj = func = None
    for raw in lines:
        text, new = strip_marker(raw)
        m = LD_IN_FUNCTION.match(text)
        if m:
            func_obj, func = m["file"], m["func"]
            continue
        m = LD_LINE_UNDEF.match(text)
        if m:
            f = norm_path(m["file"], strip)
            same = func_obj is not None and _stem(func_obj) == _stem(f)
            out.append(Diagnostic(LINKER, f, int(m["line"]), None, m["msg"],
                                  function=func if same else None, severity=ERROR, new=new))
    return out


def _stem(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
