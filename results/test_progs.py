"""test_progs output: the text lines and the -J JSON summary. Pure.

Text (6.12's test_progs.c): a failing test's log is printed first, then a line per
subtest `#N/M test/sub:OK|FAIL|SKIP` (each after its own log), then the test's line
`#N test:OK|FAIL|SKIP|OK (SKIP: x/y)`, and at the end
`Summary: P/S PASSED, K SKIPPED, F FAILED`. Subtests whose test line never came
belong to a test that was still running when the log ended: it is MISSING.
"""
from __future__ import annotations

import json
import re

from common.errors import ParseError

from .model import ParsedLog, Status, TestResult

TEST = re.compile(r"^#(\d+)\s+([^\s/:][^:]*?):(OK|FAIL|SKIP)(?: \(SKIP: (\d+)/(\d+)\))?\s*$")
SUB = re.compile(r"^#(\d+)/(\d+)\s+([^/]+?)/(.*):(OK|FAIL|SKIP)\s*$")
SUMMARY = re.compile(r"^Summary: (\d+)/(\d+) PASSED, (\d+) SKIPPED, (\d+) FAILED")
STATUS = {"OK": Status.PASS, "FAIL": Status.FAIL, "SKIP": Status.SKIP}


class _State:
    def __init__(self):
        self.tests: list[TestResult] = []
        self.subs: dict[int, list[TestResult]] = {}
        self.names: dict[int, str] = {}
        self.log: list[str] = []
        self.summary = None


def _line(st: _State, n: int, text: str) -> None:
    m = SUB.match(text)
    if m:
        num, sub = int(m.group(1)), int(m.group(2))
        st.names[num] = m.group(3)
        st.subs.setdefault(num, []).append(
            TestResult(m.group(4), STATUS[m.group(5)], sub, log=st.log, line=n))
        st.log = []
        return
    m = TEST.match(text)
    if m:
        num = int(m.group(1))
        reason = f"SKIP: {m.group(4)}/{m.group(5)}" if m.group(4) else ""
        st.tests.append(TestResult(m.group(2), STATUS[m.group(3)], num, reason, log=st.log,
                                   subtests=st.subs.pop(num, []), line=n))
        st.log = []
        return
    m = SUMMARY.match(text)
    if m:
        st.summary = tuple(int(x) for x in m.groups())
        return
    if text.strip():
        st.log.append(text)


def parse_test_progs(lines: list[str]) -> ParsedLog:
    st = _State()
    for n, raw in enumerate(lines, 1):
        _line(st, n, raw.rstrip("\r\n"))
    if not st.tests and not st.subs and st.summary is None:
        raise ParseError("no test_progs result line ('#N name:OK') or Summary found", line=1)
    parsed = ParsedLog("test_progs", st.tests)
    for num, subs in st.subs.items():
        parsed.tests.append(TestResult(st.names[num], Status.MISSING, num,
                                       "no result line: the log ended inside it",
                                       log=st.log, subtests=subs))
        st.log = []
    if st.summary is None:
        parsed.complete = False
        parsed.notes.append("no Summary line: test_progs did not finish")
    else:
        parsed.notes.append("Summary: %d/%d PASSED, %d SKIPPED, %d FAILED" % st.summary)
    if st.log and parsed.tests:
        parsed.notes.append(f"{len(st.log)} trailing line(s) after the last result")
    return parsed


def parse_test_progs_json(text: str) -> ParsedLog:
    """The -J summary. It lists only tests that failed or forced their log, so it
    says nothing about the ones that passed; the text lines are the full record."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ParseError(f"not JSON: {e.msg}", line=e.lineno) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ParseError("not a test_progs -J summary (no 'results' list)", line=1)
    tests = [_json_test(r) for r in doc["results"] if isinstance(r, dict)]
    counts = {k: doc.get(k) for k in ("success", "success_subtest", "skipped", "failed")}
    return ParsedLog("test_progs_json", tests,
                     notes=["JSON lists only failures and forced logs", f"counts: {counts}"])


def _json_test(r: dict) -> TestResult:
    subs = [TestResult(str(s.get("name", "?")), Status.FAIL if s.get("failed") else Status.PASS,
                       s.get("number"), log=str(s.get("message", "")).splitlines())
            for s in r.get("subtests", []) if isinstance(s, dict)]
    return TestResult(str(r.get("name", "?")), Status.FAIL if r.get("failed") else Status.PASS,
                      r.get("number"), log=str(r.get("message", "")).splitlines(),
                      subtests=subs)
