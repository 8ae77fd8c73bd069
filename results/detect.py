"""Pick the parser for a raw log, run it, and add the kernel splats. Pure."""
from __future__ import annotations

import re

from common.errors import ParseError, UsageError

from .kselftest import parse_kselftest
from .ktap import PLAN, RESULT, VERSION, parse_ktap
from .model import ParsedLog
from .splat import find_splats
from .test_progs import SUB, SUMMARY, TEST, parse_test_progs, parse_test_progs_json

FORMATS = ("ktap", "kselftest", "test_progs", "test_progs_json", "console")
KSELFTEST = re.compile(r"^(?:# selftests: \S+: |(?:not )?ok \d+ selftests: )")


def detect_format(lines: list[str]) -> str:
    head = "\n".join(lines[:5]).lstrip()
    if head.startswith("{") and '"results"' in "\n".join(lines):
        return "test_progs_json"
    ktap = False
    for line in lines:
        text = line.rstrip("\r\n")
        if KSELFTEST.match(text):
            return "kselftest"
        if TEST.match(text) or SUB.match(text) or SUMMARY.match(text):
            return "test_progs"
        s = text.strip()
        if VERSION.match(s) or (RESULT.match(s) and not s.startswith("oka")) or PLAN.match(s):
            ktap = True
    return "ktap" if ktap else "console"


def parse_as(fmt: str, lines: list[str]) -> ParsedLog:
    if fmt not in FORMATS:
        raise UsageError(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})")
    if fmt == "test_progs_json":
        parsed = parse_test_progs_json("\n".join(lines))
    elif fmt == "console":
        parsed = ParsedLog("console")
    else:
        parsed = {"ktap": parse_ktap, "kselftest": parse_kselftest,
                  "test_progs": parse_test_progs}[fmt](lines)
    parsed.splats = find_splats(lines)
    return parsed


def parse_any(lines: list[str]) -> ParsedLog:
    """Auto-detect the format; a log whose results cannot be parsed still yields
    its splats (format "console") with the reason in notes."""
    fmt = detect_format(lines)
    try:
        return parse_as(fmt, lines)
    except ParseError as e:
        parsed = parse_as("console", lines)
        parsed.notes.append(f"looked like {fmt} but: {e.message}")
        parsed.complete = False
        return parsed
