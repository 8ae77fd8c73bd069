"""test_progs output: the text lines and the -J JSON summary. Pure.

`parse_test_progs(lines, name=None) -> ParsedLog` reads the text 6.12's
test_progs.c prints (print_test_result, print_subtest_name, dump_test_log):
`#N/M    test/sub:OK|FAIL|SKIP` per subtest, each after its own log when it
failed (or always with -v), then `#N      test:OK|FAIL|SKIP|OK (SKIP: x/y)`
after the test's log (a test that fails after its subtests passed prints its
own log before its subtest lines: it stays the test's), and at the end an optional `All error logs:` section that
repeats the failed tests (their logs fill in, they are not counted twice) and
`Summary: P/S PASSED, K SKIPPED, F FAILED`. Lines between results are the log
of the (sub)test whose result comes next.

A log that ends without its Summary is incomplete. Subtests whose test line
never came (live output with -v) belong to a test that was running when the
log ended: it is MISSING, as is a test that `--debug` parallel mode reported
as `[w]: #N:name running.` and that never reported. `Caught signal #11!` and
its stack trace join the log of the test that just printed its FAIL line.
Newer test_progs (not 6.12) print `WATCHDOG: test case T[/S] executes for N
seconds...` and, when killing it, `..., terminating with SIGSEGV`: the killed
test (and its subtest) become TIMEOUT.

`parse_test_progs_json(text, name=None) -> ParsedLog` reads the `-J FILE`
summary. It lists only the failed tests, and of those only their failed
subtests (test_progs writes it from the "All error logs" pass), so tests that
passed or were skipped are absent; a note says so, and one gives the counts.
"""
from __future__ import annotations

import json
import re

from common.errors import ParseError

from .limits import MAX_TESTS, bounded
from .model import ParsedLog, Status, TestResult

TEST = re.compile(r"^#(\d+)\s+([^\s/:][^:]*?):(OK|FAIL|SKIP)(?: \(SKIP: (\d+)/(\d+)\))?\s*$")
SUB = re.compile(r"^#(\d+)/(\d+)\s+([^/\s]+?)/(.*):(OK|FAIL|SKIP)\s*$")
SUMMARY = re.compile(r"^Summary: (\d+)/(\d+) PASSED, (\d+) SKIPPED, (\d+) FAILED")
ERROR_LOGS = re.compile(r"^All error logs:\s*$")
RUNNING = re.compile(r"^\[(\d+)\]: #(\d+):(\S+) (running|done)\.$")
WATCHDOG = re.compile(r"^WATCHDOG: test case (\S+) executes for (\d+) seconds(.*)$")
CAUGHT = re.compile(r"^(?:\[\d+\]: )?Caught signal #(\d+)!")
STATUS = {"OK": Status.PASS, "FAIL": Status.FAIL, "SKIP": Status.SKIP}


class _State:
    def __init__(self):
        self.tests: list[TestResult] = []
        self.by_num: dict[int, TestResult] = {}
        self.subs: dict[int, list[TestResult]] = {}
        self.names: dict[int, str] = {}
        self.sub_lines: dict[int, int] = {}
        self.log: list[str] = []
        self.summary: tuple[int, ...] | None = None
        self.repeat = False               # inside "All error logs:"
        self.running: dict[int, str] = {}
        self.killed: dict[str, str] = {}  # "test[/sub]" -> WATCHDOG line
        self.notes: list[str] = []
        self.sink: TestResult | None = None  # crashed test collecting its stack trace
        self.results = 0                  # test and subtest result lines read


def _sub(st: _State, n: int, m: re.Match) -> None:
    num, sub = int(m.group(1)), int(m.group(2))
    if st.repeat:
        _refill(st, num, m.group(4))
        return
    st.names[num] = m.group(3)
    st.sub_lines.setdefault(num, n)
    st.subs.setdefault(num, []).append(
        TestResult(m.group(4), STATUS[m.group(5)], sub, log=st.log, line=n))
    st.log = []


def _own_log(t: TestResult) -> None:
    """A test that failed while its subtests passed: test_progs prints its own log
    first, then the subtest lines, and no log for a passing subtest (without -v),
    so the lines read as the first subtest's are the test's own."""
    if t.status != Status.FAIL or any(s.status.is_bad for s in t.subtests):
        return
    for sub in t.subtests:
        t.log, sub.log = t.log + sub.log, []


def _refill(st: _State, num: int, sub: str | None) -> None:
    """A result repeated under "All error logs:": give it the log if it had none."""
    t = st.by_num.get(num)
    if t is not None and sub is not None:
        t = next((s for s in t.subtests if s.name == sub), None)
    if t is not None and not t.log:
        t.log = st.log
    st.log = []


def _test(st: _State, n: int, m: re.Match) -> None:
    num = int(m.group(1))
    if st.repeat:
        _refill(st, num, None)
        return
    reason = f"SKIP: {m.group(4)}/{m.group(5)}" if m.group(4) else ""
    t = TestResult(m.group(2), STATUS[m.group(3)], num, reason, log=st.log,
                   subtests=st.subs.pop(num, []), line=n)
    _own_log(t)
    st.tests.append(t)
    st.by_num[num] = t
    st.running.pop(num, None)
    st.log = []


def _other(st: _State, text: str) -> None:
    m = RUNNING.match(text)
    if m:
        if m.group(4) == "running":
            st.running[int(m.group(2))] = m.group(3)
        return
    m = WATCHDOG.match(text)
    if m and "terminating" in m.group(3):
        st.killed[m.group(1)] = text
    if CAUGHT.match(text) and st.tests and not st.log:
        st.sink = st.tests[-1]        # the stack trace joins that test's log
        st.sink.reason = f"crashed: signal {CAUGHT.match(text).group(1)}"
    if st.sink is not None:
        st.sink.log.append(text)
    elif text.strip():
        st.log.append(text)


def _line(st: _State, n: int, text: str) -> None:
    for rx, fn in ((SUB, _sub), (TEST, _test)):
        m = rx.match(text)
        if m:
            st.sink = None
            st.results += 1
            fn(st, n, m)
            return
    m = SUMMARY.match(text)
    if m:
        st.summary = tuple(int(x) for x in m.groups())
        st.repeat = False
    elif ERROR_LOGS.match(text):
        st.repeat, st.log = True, []
    else:
        _other(st, text)


def _unfinished(st: _State) -> None:
    """Tests that started (subtest lines, or a debug `running.` line) but never
    printed their own result line."""
    for num, subs in sorted(st.subs.items()):
        st.tests.append(TestResult(st.names[num], Status.MISSING, num,
                                   "no result line: the log ended inside it",
                                   log=st.log, subtests=subs))
        st.running.pop(num, None)
        st.log = []
    for num, name in sorted(st.running.items()):
        if num not in st.by_num:
            st.tests.append(TestResult(name, Status.MISSING, num,
                                       "started (debug output) but never reported",
                                       log=st.log))
            st.log = []


def _apply_watchdog(st: _State) -> None:
    for path, text in st.killed.items():
        top, _, sub = path.partition("/")
        t = next((x for x in st.tests if x.name == top), None)
        if t is None:
            st.notes.append(f"{text} (no result for {top})")
            continue
        if sub:
            s = next((x for x in t.subtests if x.name == sub), None)
            if s is None:
                s = TestResult(sub, Status.TIMEOUT, len(t.subtests) + 1)
                t.subtests.append(s)
            s.status, s.reason = Status.TIMEOUT, text
        t.status, t.reason = Status.TIMEOUT, text


def _read(st: _State, lines: list[str]) -> bool:
    """Read the lines; True if MAX_TESTS result lines stopped the read (noted)."""
    for n, raw in enumerate(lines, 1):
        _line(st, n, raw.rstrip("\r\n"))
        if st.results >= MAX_TESTS:
            st.notes.append(f"line {n}: {MAX_TESTS} results read: the rest of the log "
                            "is not read")
            return True
    return False


def parse_test_progs(lines: list[str], name: str | None = None) -> ParsedLog:
    """Parse test_progs text output. Raises ParseError (line 1) when the log has
    no result line and no Summary at all."""
    st = _State()
    lines, cut = bounded(list(lines), st.notes)
    cut = _read(st, lines) or cut
    if not st.tests and not st.subs and not st.running and st.summary is None:
        raise ParseError("no test_progs result line ('#N name:OK') or Summary found",
                         path=name, line=1)
    _unfinished(st)
    _apply_watchdog(st)
    parsed = ParsedLog("test_progs", st.tests, notes=st.notes, complete=not cut)
    if any(t.status == Status.MISSING for t in st.tests):
        parsed.complete = False
    if st.summary is None:
        parsed.complete = False
        parsed.notes.append("no Summary line: test_progs did not finish")
    else:
        parsed.notes.append("Summary: %d/%d PASSED, %d SKIPPED, %d FAILED" % st.summary)
        _check_summary(parsed, st.summary)
    if st.log:
        parsed.notes.append(f"{len(st.log)} line(s) after the last result")
    return parsed


def _check_summary(parsed: ParsedLog, summary: tuple[int, ...]) -> None:
    """test_progs counts a skipped test among the PASSED ones (P), and failed
    tests (F); compare those with the result lines."""
    failed = sum(t.status.is_bad for t in parsed.tests)
    passed = len(parsed.tests) - failed
    if (passed, failed) != (summary[0], summary[3]):
        parsed.notes.append(f"result lines give {passed} passed (skips included) and "
                            f"{failed} failed; the Summary says {summary[0]} and "
                            f"{summary[3]}")


def parse_test_progs_json(text: str, name: str | None = None) -> ParsedLog:
    """The -J summary: failed tests only (see the module docstring)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ParseError(f"not JSON: {e.msg}", path=name, line=e.lineno) from None
    except RecursionError:
        raise ParseError("JSON nested too deeply", path=name, line=1) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ParseError("not a test_progs -J summary (no 'results' list)", path=name, line=1)
    tests = [_json_test(r) for r in doc["results"] if isinstance(r, dict)]
    counts = {k: doc.get(k) for k in ("success", "success_subtest", "skipped", "failed")}
    notes = ["JSON lists only failures (failed tests and their failed subtests); passed and "
             "skipped tests are not in it",
             "counts: " + ", ".join(f"{k}={v}" for k, v in counts.items())]
    if isinstance(counts["failed"], int) and counts["failed"] != len(tests):
        notes.append(f"'failed' says {counts['failed']}, 'results' lists {len(tests)}")
    return ParsedLog("test_progs_json", tests, notes=notes)


def _json_one(r: dict, subtests: list[TestResult]) -> TestResult:
    num = r.get("number")
    return TestResult(str(r.get("name", "?")),
                      Status.FAIL if r.get("failed") else Status.PASS,
                      num if isinstance(num, int) else None,
                      log=str(r.get("message", "")).splitlines(), subtests=subtests)


def _json_test(r: dict) -> TestResult:
    subs = r.get("subtests")
    subs = [_json_one(s, []) for s in subs if isinstance(s, dict)] \
        if isinstance(subs, list) else []
    return _json_one(r, subs)
