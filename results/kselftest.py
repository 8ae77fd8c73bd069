"""kselftest runner output (run_kselftest.sh / runner.sh). Pure.

The runner prints TAP 13 at the top level, one `ok`/`not ok N selftests: DIR: TEST`
per test program, with the program's own output prefixed by `# ` and a
`# selftests: DIR: TEST` header before it. Exit 4 is `# SKIP`, a timeout is
`# TIMEOUT N seconds`, another failure `# exit=N`. A program that prints KTAP
itself gets its tests parsed as subtests.
"""
from __future__ import annotations

import re

from common.errors import ParseError

from .ktap import PLAN, RESULT, VERSION, parse_ktap, result_status, split_description
from .model import ParsedLog, Status, TestResult

HEADER = re.compile(r"^# selftests: (\S+?): (\S+)\s*$")
NAME = re.compile(r"^selftests: (\S+?): (\S+)$")
EXIT = re.compile(r"^exit=(\d+)")


def _inner(log: list[str]) -> list[TestResult]:
    """Subtests from a test program's own (KTAP/TAP) output, if it printed any."""
    if not any(VERSION.match(x.strip()) or PLAN.match(x.strip()) for x in log):
        return []
    if not any(RESULT.match(x.strip()) for x in log):
        return []
    try:
        return parse_ktap(log).tests
    except ParseError:
        return []


def _test(m, n: int, log: list[str]) -> TestResult:
    name, directive, reason = split_description(m.group(3))
    nm = NAME.match(name)
    label = f"{nm.group(1)}:{nm.group(2)}" if nm else name
    status = result_status(m.group(1) == "ok", directive, reason)
    ex = EXIT.match(reason)
    if ex and status == Status.FAIL:
        reason = f"exit={ex.group(1)}"
    return TestResult(label, status, int(m.group(2)) if m.group(2) else None, reason,
                      log=log, subtests=_inner(log), line=n)


def parse_kselftest(lines: list[str]) -> ParsedLog:
    tests: list[TestResult] = []
    unknown: list[tuple[int, str]] = []
    log: list[str] = []
    plan: int | None = None
    current: str | None = None
    seen = False
    for n, raw in enumerate(lines, 1):
        text = raw.rstrip("\r\n")
        h = HEADER.match(text)
        if h:
            current, log, seen = f"{h.group(1)}:{h.group(2)}", [], True
            continue
        m = RESULT.match(text)
        if m and not text.startswith(" "):
            seen = True
            tests.append(_test(m, n, log))
            log, current = [], None
            continue
        if PLAN.match(text) and plan is None:
            plan = int(PLAN.match(text).group(1))
            seen = True
            continue
        if text.startswith("#"):
            log.append(text[2:] if text.startswith("# ") else text[1:])
        elif text.strip() and not VERSION.match(text.strip()):
            unknown.append((n, text))
    if not seen:
        raise ParseError("no kselftest runner output found (no '# selftests:' header, plan "
                         "or result)", line=1)
    parsed = ParsedLog("kselftest", tests, unknown=unknown)
    _complete(parsed, plan, current, log)
    return parsed


def _complete(parsed: ParsedLog, plan: int | None, current: str | None, log: list[str]):
    """A header without a result: the run died inside that test."""
    if current is not None:
        parsed.tests.append(TestResult(current, Status.MISSING, len(parsed.tests) + 1,
                                       "started but never reported", log=log,
                                       subtests=_inner(log)))
        parsed.complete = False
    if plan is not None and len(parsed.tests) < plan:
        parsed.complete = False
        parsed.notes.append(f"plan promised {plan} tests, the log reported {len(parsed.tests)}")
