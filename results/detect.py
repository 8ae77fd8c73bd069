"""Pick the parser for a raw log, run it, and add the kernel splats. Pure.

`detect_format(lines) -> str`: one of FORMATS. `test_progs_json` when the text
opens with `{` and has a `"results"` key; `kselftest` at the first
`# selftests: DIR: TEST` header or `ok N selftests: ...` line; `test_progs` at
the first `#N name:OK` style line or `Summary:` line; `ktap` when a version,
plan or result line appears (printk timestamps allowed); else `console`.

`parse_as(fmt, lines) -> ParsedLog` runs one parser (UsageError for an unknown
format) and always adds `find_splats(lines)`, each attached to the test that
was running when it appeared (see `running_markers`).

`parse_any(lines) -> ParsedLog` detects and parses; a log whose results cannot
be parsed still yields its splats (format "console", incomplete, the reason in
notes).
"""
from __future__ import annotations

import re

from common.errors import ParseError, UsageError

from .kselftest import parse_kselftest
from .ktap import PLAN, RESULT, VERSION, parse_ktap, strip_kmsg
from .limits import bounded
from .model import ParsedLog, Status, TestResult
from .splat import attach_splats, find_splats
from .test_progs import SUB, SUMMARY, TEST, parse_test_progs, parse_test_progs_json

FORMATS = ("ktap", "kselftest", "test_progs", "test_progs_json", "console")
KSELFTEST = re.compile(r"^(?:# selftests: \S+: |(?:not )?ok \d+ selftests: )")


def detect_format(lines: list[str]) -> str:
    """The format name of a raw log (see the module docstring)."""
    head = "".join(x.strip() for x in lines[:5])
    if head.startswith("{") and any('"results"' in x for x in lines):
        return "test_progs_json"
    ktap = False
    for line in lines:
        text = line.rstrip("\r\n")
        if KSELFTEST.match(text):
            return "kselftest"
        if TEST.match(text) or SUB.match(text) or SUMMARY.match(text):
            return "test_progs"
        s = strip_kmsg(text).strip()
        if VERSION.match(s) or PLAN.match(s) or RESULT.match(s):
            ktap = True
    return "ktap" if ktap else "console"


def _ordered(tests: list[TestResult], leaves: bool) -> list[tuple[str, TestResult]]:
    """(path, test) for the tests a splat can be blamed on, in log order; tests
    without a line (never reported) last, in tree order."""
    if leaves:
        picked = [(p, t) for x in tests for p, t in x.walk() if not t.subtests]
    else:
        picked = [(t.name, t) for t in tests]
    seen = sorted((pt for pt in picked if pt[1].line is not None), key=lambda pt: pt[1].line)
    return seen + [pt for pt in picked if pt[1].line is None]


def running_markers(parsed: ParsedLog) -> list[tuple[int, str]]:
    """(line, test) pairs meaning "this test was running from this line on".

    A test runs from the line after the previous result up to its own result
    line. KTAP output is live, so leaves are used; kselftest and test_progs
    print a program's or test's lines together, so top-level tests are used.
    After the last result, the first test that never reported (MISSING) was
    the one running; with none, nothing is blamed.
    """
    start, out = 1, []
    for path, t in _ordered(parsed.tests, leaves=parsed.format == "ktap"):
        if t.line is None:
            if t.status == Status.MISSING:
                out.append((start, path))
            break
        out.append((start, path))
        start = t.line + 1
    else:
        out.append((start, ""))
    return out


def parse_as(fmt: str, lines: list[str], name: str | None = None) -> ParsedLog:
    """Parse with the named parser and add the splats."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown format '{fmt}' (one of {', '.join(FORMATS)})")
    if fmt == "test_progs_json":
        parsed = parse_test_progs_json("\n".join(lines), name=name)
    elif fmt == "console":
        parsed = ParsedLog("console")
    else:
        parsed = {"ktap": parse_ktap, "kselftest": parse_kselftest,
                  "test_progs": parse_test_progs}[fmt](lines, name=name)
    parsed.splats = find_splats(bounded(lines, [])[0])
    if parsed.tests and parsed.splats:
        attach_splats(parsed.splats, running_markers(parsed))
        loose = sum(s.test is None for s in parsed.splats)
        if loose and not parsed.complete:
            parsed.notes.append(f"{loose} splat(s) came after the last result: the test "
                                "running then never reported")
    return parsed


def parse_any(lines: list[str], name: str | None = None) -> ParsedLog:
    """Auto-detect the format and parse; never raises ParseError."""
    fmt = detect_format(lines)
    try:
        return parse_as(fmt, lines, name=name)
    except ParseError as e:
        parsed = parse_as("console", lines, name=name)
        parsed.notes.append(f"looked like {fmt} but: {e.message}")
        parsed.complete = False
        return parsed
