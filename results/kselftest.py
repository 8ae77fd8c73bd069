"""kselftest runner output (run_kselftest.sh / kselftest/runner.sh). Pure.

`parse_kselftest(lines, name=None) -> ParsedLog`. The runner prints, per
collection, `TAP version 13` and `1..N`, then for each test program
`# timeout set to 45` (or `# overriding timeout to N`), a
`# selftests: DIR: TEST` header, the program's own output with `# ` in front
of each line, and one result: `ok N selftests: DIR: TEST`, `... # SKIP` (exit
4), `not ok N ... # TIMEOUT 45 seconds` (after a lone `#`), `not ok N ...
# exit=N`, or a bare `not ok` for a missing or unrunnable file. Numbers start
again at 1 in each collection.

Each program becomes a TestResult named `DIR:TEST` (what `run_kselftest.sh -t`
takes) with its output (prefix removed) as its log; TAP/KTAP the program printed
itself becomes its subtests. Console lines mixed in without the prefix
(interleaved dmesg) join the running program's log and `unknown`. A header
without a result (the run died inside that program) gives a MISSING test, as
do plan entries never reported; either marks the log incomplete.
"""
from __future__ import annotations

import re

from common.errors import ParseError

from .ktap import PLAN, RESULT, VERSION, parse_ktap, result_status, split_description
from .limits import MAX_TESTS, MissingBudget, bounded
from .model import ParsedLog, Status, TestResult

HEADER = re.compile(r"^# selftests: (\S+?): (\S+)\s*$")
NAME = re.compile(r"^selftests: (\S+?): (\S+)$")
EXIT = re.compile(r"^exit=(\d+)")
RUNNER_NOISE = re.compile(r"^# (?:timeout set to \d+|overriding timeout to \d+)\s*$")


def _prefixed(text: str) -> str | None:
    """The program's own line from a runner line, or None if unprefixed."""
    if text.startswith("# "):
        return text[2:]
    if text == "#":
        return ""
    return None


def _inner(out: list[str], notes: list[str], label: str) -> list[TestResult]:
    """Subtests from a test program's own (K)TAP output, if it printed any."""
    stripped = [x.strip() for x in out]
    if not any(RESULT.match(x) for x in stripped):
        if any(PLAN.match(x) for x in stripped):
            return parse_ktap(out).tests      # a plan and no result: all MISSING
        return []
    parsed = parse_ktap(out)
    if not parsed.complete:
        notes.append(f"{label}: its own TAP output is incomplete")
    return parsed.tests


class _Collection:
    """One `TAP version 13` / `1..N` block of the runner."""

    def __init__(self):
        self.plan: int | None = None
        self.tests: list[TestResult] = []
        self.dir: str | None = None


class _State:
    def __init__(self):
        self.blocks: list[_Collection] = [_Collection()]
        self.unknown: list[tuple[int, str]] = []
        self.notes: list[str] = []
        self.log: list[str] = []          # everything since the last result
        self.out: list[str] = []          # the program's own (prefixed) lines
        self.current: str | None = None   # DIR:TEST of the running program
        self.current_line: int | None = None
        self.seen = False
        self.count = 0                    # results and unfinished programs

    @property
    def block(self) -> _Collection:
        return self.blocks[-1]

    def reset(self) -> None:
        self.log, self.out, self.current, self.current_line = [], [], None, None


def _result(st: _State, n: int, m: re.Match) -> None:
    name, directive, reason = split_description(m.group(3))
    nm = NAME.match(name)
    label = f"{nm.group(1)}:{nm.group(2)}" if nm else (name or st.current or "unnamed")
    status = result_status(m.group(1) == "ok", directive, reason)
    ex = EXIT.match(reason)
    if ex and status == Status.FAIL:
        reason = f"exit={ex.group(1)}"
    num = int(m.group(2)) if m.group(2) else len(st.block.tests) + 1
    log = [x for x in st.log if x.strip()]
    st.block.tests.append(TestResult(label, status, num, reason, log=log,
                                     subtests=_inner(st.out, st.notes, label), line=n))
    st.count += 1
    st.reset()


def _line(st: _State, n: int, text: str) -> None:
    h = HEADER.match(text)
    if h:
        if st.current is not None:
            _unfinished(st)
        st.seen = True
        st.log, st.out = [], []
        st.current, st.current_line = f"{h.group(1)}:{h.group(2)}", n
        st.block.dir = st.block.dir or h.group(1)
        return
    m = RESULT.match(text)
    if m:
        st.seen = True
        _result(st, n, m)
        return
    if VERSION.match(text):
        st.seen = True
        if st.block.plan is not None or st.block.tests:
            st.blocks.append(_Collection())
        return
    p = PLAN.match(text)
    if p and st.block.plan is None:
        st.seen = True
        st.block.plan = int(p.group(1))
        return
    own = _prefixed(text)
    if own is not None:
        if st.current is not None or not RUNNER_NOISE.match(text):
            st.log.append(own)
            st.out.append(own)
    elif text.strip():
        st.unknown.append((n, text))
        st.log.append(text)


def _unfinished(st: _State) -> None:
    """The running program never reported: the log ended (or restarted) inside it."""
    st.block.tests.append(TestResult(st.current, Status.MISSING, len(st.block.tests) + 1,
                                     "started but never reported",
                                     log=[x for x in st.log if x.strip()],
                                     subtests=_inner(st.out, st.notes, st.current)))
    st.notes.append(f"{st.current}: started at line {st.current_line}, no result")
    st.reset()


def _fill_plan(st: _State) -> bool:
    """Add MISSING entries for planned numbers never reported; True if any."""
    short, budget = False, MissingBudget(st.notes)
    for b in st.blocks:
        if b.plan is None or len(b.tests) >= b.plan:
            continue
        short = True
        have = {t.number for t in b.tests}
        prefix = f"{b.dir}:" if b.dir else ""
        left, k = budget.take(b.plan, len(b.tests)), 0
        while left > 0:
            k += 1
            if k not in have:
                b.tests.append(TestResult(f"{prefix}test {k}", Status.MISSING, k,
                                          "planned but never reported"))
                left -= 1
        st.notes.append(f"plan promised {b.plan} tests, the log reported "
                        f"{len(have)}")
    return short


def _read(st: _State, lines: list[str]) -> bool:
    """Read the lines; True if MAX_TESTS results stopped the read (noted)."""
    for n, raw in enumerate(lines, 1):
        _line(st, n, raw.rstrip("\r\n"))
        if st.count >= MAX_TESTS or len(st.blocks) > MAX_TESTS:
            st.notes.append(f"line {n}: {MAX_TESTS} results read: the rest of the log "
                            "is not read")
            return True
    return False


def parse_kselftest(lines: list[str], name: str | None = None) -> ParsedLog:
    """Parse run_kselftest.sh output. Raises ParseError (line 1) when there is no
    runner header, plan or result at all."""
    st = _State()
    lines, cut = bounded(list(lines), st.notes)
    complete = not (cut or _read(st, lines))
    if not st.seen:
        raise ParseError("no kselftest runner output found (no '# selftests:' header, "
                         "plan or result)", path=name, line=1)
    if st.current is not None:
        _unfinished(st)
        complete = False
    if _fill_plan(st):
        complete = False
    tests = [t for b in st.blocks for t in b.tests]
    if not tests:
        complete = False
        st.notes.append("no test reported: the run ended before its first result")
    return ParsedLog("kselftest", tests, unknown=st.unknown, complete=complete,
                     notes=st.notes)
