"""KTAP / TAP parser and KTAP writer. Pure functions over lines.

`parse_ktap(lines, name=None) -> ParsedLog` reads `KTAP version 1` and
`TAP version 13|14` output: plans (`1..N`, `1..0 # SKIP why`, leading or
trailing), `ok` / `not ok` lines (a word of their own, then a number;
without the number only under `TAP version 13|14`), `-` separators and
descriptions, the directives SKIP, TODO, XFAIL, XPASS, TIMEOUT and ERROR (any
case), diagnostics (`# ...`: they join the log of the test whose result comes
next at that level), nested subtests (indented by any amount, each with its
own version line and plan, or with a TAP14 `# Subtest: name` header at either
level), TAP13 YAML blocks (`  ---` .. `  ...`, kept in the log of the test
above them), `Bail out!`, and console lines with `[  1.234567]` printk
timestamps (KUnit output read from the console). Unknown lines are kept in
`ParsedLog.unknown` with their line numbers and in the log of the test they
precede. A test a plan promises but the log never reports comes back as
MISSING and the log is marked incomplete, as is a nested block whose own
result never came, so a truncated run never reads as passed.

`emit_ktap(tests, log_lines=20) -> str` writes KTAP version 1, subtests nested
and indented two spaces a level (each nested block has its version line, a
`# Subtest: name` header and a plan). Two statuses have no KTAP directive:
MISSING is written `not ok N name # ERROR missing: reason`, FLAKY is written
`ok N name # flaky: runs fail,pass` (the runs of TestResult.runs). A test's
duration is a `# duration: 1.500s` diagnostic just above its result. parse_ktap
reads all three back, so parse_ktap(emit_ktap(x)) keeps every name, status and
duration.
Names lose `#` (written `_`) and line breaks; bad and flaky tests get their
last `log_lines` log lines as diagnostics, and `notes` (by test path) adds
diagnostics above any test's result (the splats found while it ran).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from common.errors import ParseError

from .limits import MAX_DEPTH, MAX_TESTS, MissingBudget, bounded
from .model import ParsedLog, Status, TestResult

VERSION = re.compile(r"^(?:KTAP version \d+|TAP version \d+)\s*$")
PLAN = re.compile(r"^1\.\.(\d+)\s*(?:#\s*(.*))?$")
# `ok`/`not ok` as a word of its own: `ok: done` or `okay` is not a result.
RESULT = re.compile(r"^(ok|not ok)(?=\s|$)(?:\s+(\d+)\b)?(?:\s*-(?=\s|$))?\s*(.*)$")
SUBTEST_HDR = re.compile(r"^#\s*Subtest:\s*(.*)$")
BAIL = re.compile(r"^Bail out!\s*(.*)$")
KMSG = re.compile(r"^(?:<\d>)?\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])? ?")
DIRECTIVES = {"SKIP": Status.SKIP, "SKIPPED": Status.SKIP, "TODO": Status.TODO,
              "XFAIL": Status.XFAIL, "XPASS": Status.PASS, "TIMEOUT": Status.TIMEOUT,
              "ERROR": Status.ERROR}
DURATION = re.compile(r"^duration: (\d+(?:\.\d+)?)s$")
MISSING_MARK = re.compile(r"^missing(?::|$)", re.I)
FLAKY_MARK = re.compile(r"^flaky\b:?\s*(?:runs\s+(\S*))?", re.I)


def strip_kmsg(line: str) -> str:
    """A console line without its printk level and timestamp."""
    return KMSG.sub("", line, count=1)


def split_description(rest: str) -> tuple[str, str | None, str]:
    """(name, directive or None, reason) from the text after the test number.
    `ok 1 name # rcode=0` has no directive: the reason is `rcode=0`."""
    if rest.startswith("#"):
        name, tail = "", rest[1:]
    else:
        name, sep, tail = rest.partition(" #")
        if not sep:
            return rest.strip(), None, ""
    word, _, reason = tail.strip().partition(" ")
    key = word.upper().rstrip(":")
    if key in DIRECTIVES:
        return name.strip(), key, reason.strip()
    return name.strip(), None, tail.strip()


def result_status(ok: bool, directive: str | None, reason: str) -> Status:
    """The status of one result line."""
    if directive == "ERROR" and MISSING_MARK.match(reason):
        return Status.MISSING
    if directive is not None:
        st = DIRECTIVES[directive]
        if st == Status.XFAIL and not ok:
            return Status.FAIL
        return st
    if ok and FLAKY_MARK.match(reason):
        return Status.FLAKY
    return Status.PASS if ok else Status.FAIL


def _runs(status: Status, reason: str) -> list[str]:
    m = FLAKY_MARK.match(reason) if status == Status.FLAKY else None
    return [r for r in (m.group(1) or "").split(",") if r] if m else []


def _duration(log: list[str]) -> float | None:
    """The `# duration: 1.500s` diagnostic emit_ktap writes just above a result
    (taken out of the log), if it is there."""
    if log and DURATION.match(log[-1]):
        return float(DURATION.match(log.pop()).group(1))
    return None


@dataclass
class _Frame:
    """One open nesting level."""

    indent: int
    tests: list = field(default_factory=list)
    plan: int | None = None
    plan_skip: str | None = None
    log: list = field(default_factory=list)
    name: str | None = None          # from "# Subtest: name"
    tap: bool = False                # under `TAP version N`: results may omit their number


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


class _Parser:
    def __init__(self, lines: list[str]):
        self.lines = lines
        self.stack = [_Frame(indent=0)]
        self.unknown: list[tuple[int, str]] = []
        self.complete = True
        self.seen_tap = False
        self.notes: list[str] = []
        self.yaml_indent: int | None = None
        self.last: TestResult | None = None
        self.pending_name: str | None = None   # TAP14 "# Subtest:" at the parent level
        self.stopped: str | None = None        # the cap that stopped the parse
        self.count = 0                         # results read
        self.budget = MissingBudget(self.notes)

    def run(self) -> ParsedLog:
        lines, cut = bounded(self.lines, self.notes)
        self.complete = not cut
        for n, raw in enumerate(lines, 1):
            self.line(n, raw.rstrip("\r\n"))
            if self.stopped:
                self.complete = False
                self.notes.append(f"line {n}: {self.stopped}: the rest of the log is not read")
                break
        self.finish()
        return ParsedLog("ktap", self.stack[0].tests, unknown=self.unknown,
                         complete=self.complete, notes=self.notes)

    def line(self, n: int, raw: str) -> None:
        raw = strip_kmsg(raw)
        if self.yaml_indent is not None:
            self._yaml(raw)
            return
        if not raw.strip():
            return
        ind, text = _indent(raw), raw.strip()
        if VERSION.match(text):
            self.seen_tap = True
            self._version(ind, text.startswith("TAP"))
        elif PLAN.match(text):
            self.seen_tap = True
            self._plan(ind, PLAN.match(text))
        elif self._is_result(ind, RESULT.match(text)):
            self.seen_tap = True
            self._result(n, ind, RESULT.match(text))
        elif SUBTEST_HDR.match(text):
            self._subtest_header(ind, SUBTEST_HDR.match(text).group(1).strip())
        elif BAIL.match(text):
            self._bail(n, BAIL.match(text).group(1))
        elif text == "---" and self.last is not None:
            self.yaml_indent = ind
            self.last.log.append(text)
        elif text.startswith("#"):
            self._frame_for(ind).log.append(text[1:].strip())
        else:
            self.unknown.append((n, raw))
            self.stack[-1].log.append(text)

    def _yaml(self, raw: str) -> None:
        self.last.log.append(raw.strip())
        if raw.strip() == "..." and _indent(raw) <= (self.yaml_indent or 0):
            self.yaml_indent = None

    def _frame_for(self, ind: int) -> _Frame:
        """The innermost open frame at or above this indentation."""
        for fr in reversed(self.stack):
            if fr.indent <= ind:
                return fr
        return self.stack[0]

    def _push(self, ind: int) -> _Frame:
        if len(self.stack) > MAX_DEPTH:
            self.stopped = f"nested more than {MAX_DEPTH} levels deep"
        fr = _Frame(indent=ind, name=self.pending_name, tap=self.stack[-1].tap)
        self.pending_name = None
        self.stack.append(fr)
        return fr

    def _fresh_child(self, ind: int) -> bool:
        top = self.stack[-1]
        return len(self.stack) > 1 and top.indent == ind and not top.tests and top.plan is None

    def _version(self, ind: int, tap: bool) -> None:
        fr = self._push(ind) if ind > self.stack[-1].indent else self._frame_for(ind)
        fr.tap = tap

    def _is_result(self, ind: int, m: re.Match | None) -> bool:
        """A result line: `ok`/`not ok` and a number, or without a number where the
        format allows it (TAP 13/14, not KTAP or output with no version line)."""
        return m is not None and (m.group(2) is not None or self._frame_for(ind).tap)

    def _plan(self, ind: int, m: re.Match) -> None:
        fr = self._push(ind) if ind > self.stack[-1].indent else self._frame_for(ind)
        fr.plan = int(m.group(1))
        if fr.plan == 0 and m.group(2):
            fr.plan_skip = re.sub(r"^SKIP\b:?\s*", "", m.group(2), flags=re.I) or "SKIP"

    def _subtest_header(self, ind: int, name: str) -> None:
        if ind > self.stack[-1].indent:
            self._push(ind).name = name
        elif self._fresh_child(ind):
            self.stack[-1].name = name
        else:
            self.pending_name = name
            self._frame_for(ind).log.append(f"Subtest: {name}")

    def _missing_parent(self, child: _Frame, parent: _Frame) -> None:
        """A nested block whose own result line never came."""
        self.complete = False
        num = len(parent.tests) + 1
        parent.tests.append(TestResult(child.name or f"test {num}", Status.MISSING, num,
                                       "no result line: the log ended inside it",
                                       log=child.log, subtests=child.tests))

    def _close_deeper(self, ind: int) -> _Frame | None:
        """Pop frames deeper than `ind`; the last one popped holds the subtests of
        the result at `ind`."""
        carried = None
        while len(self.stack) > 1 and self.stack[-1].indent > ind:
            fr = self.stack.pop()
            if carried is not None:
                self._missing_parent(carried, fr)
            self._fill_missing(fr)
            if fr.plan == 0 and fr.plan_skip:
                self.notes.append(f"subtests skipped: {fr.plan_skip}")
            carried = fr
        return carried

    def _result(self, n: int, ind: int, m: re.Match) -> None:
        carried = self._close_deeper(ind)
        fr = self._frame_for(ind)
        if fr.indent < ind:
            fr = self._push(ind)
        self.pending_name = None
        ok = m.group(1) == "ok"
        name, directive, reason = split_description(m.group(3))
        num = int(m.group(2)) if m.group(2) else len(fr.tests) + 1
        log = (carried.log if carried else []) + fr.log
        duration = _duration(log)
        if not name:   # kselftest.h writes `ok 3 # SKIP what` with no description
            name = (carried.name if carried and carried.name else None) \
                or (reason if directive in ("SKIP", "XFAIL", "ERROR") else None) \
                or f"test {num}"
        status = result_status(ok, directive, reason)
        t = TestResult(name, status, num, reason, log=log,
                       subtests=carried.tests if carried else [],
                       runs=_runs(status, reason), line=n, duration=duration)
        if directive == "XPASS":
            t.reason = f"XPASS {reason}".strip()
        fr.log = []
        fr.tests.append(t)
        self.last = t
        self.count += 1
        if self.count >= MAX_TESTS:
            self.stopped = f"{MAX_TESTS} results read"

    def _bail(self, n: int, why: str) -> None:
        self.complete = False
        self.notes.append(f"line {n}: Bail out! {why}".rstrip())

    def _fill_missing(self, fr: _Frame) -> None:
        if fr.plan is None or len(fr.tests) >= fr.plan:
            return
        self.complete = False
        have = {t.number for t in fr.tests}
        left = self.budget.take(fr.plan, len(fr.tests))
        k = 0
        while left > 0:
            k += 1
            if k not in have:
                fr.tests.append(TestResult(f"test {k}", Status.MISSING, k,
                                           "planned but never reported"))
                left -= 1

    def finish(self) -> None:
        carried = self._close_deeper(-1)
        if carried is not None:
            self._missing_parent(carried, self.stack[0])
        top = self.stack[0]
        self._fill_missing(top)
        if top.plan is None and not top.tests:
            self.complete = False
            self.notes.append("no plan and no result: the run ended before its first test")
        elif top.plan is None:
            self.notes.append("no plan line: cannot tell whether tests are missing")
        elif top.plan == 0 and top.plan_skip:
            self.notes.append(f"all tests skipped: {top.plan_skip}")


def parse_ktap(lines: list[str], name: str | None = None) -> ParsedLog:
    """Parse KTAP or TAP. Raises ParseError (naming `name` and line 1) only when
    there is no version, plan or result line at all."""
    p = _Parser(list(lines))
    parsed = p.run()
    if not p.seen_tap:
        raise ParseError("no KTAP/TAP version, plan or result line found", path=name, line=1)
    return parsed


def _clean(name: str) -> str:
    name = " ".join(name.replace("#", "_").split()) or "unnamed"
    return f"- {name}" if name.startswith("-") else name


# How each status is written: result word, directive keyword (None: no directive).
WRITE = {Status.PASS: ("ok", None), Status.FAIL: ("not ok", None),
         Status.SKIP: ("ok", "SKIP"), Status.XFAIL: ("ok", "XFAIL"),
         Status.TODO: ("not ok", Status.TODO.name), Status.TIMEOUT: ("not ok", "TIMEOUT"),
         Status.ERROR: ("not ok", "ERROR"), Status.MISSING: ("not ok", "ERROR"),
         Status.FLAKY: ("ok", "flaky:")}


def _directive(t: TestResult) -> tuple[str, str]:
    """(result word, ` # KEYWORD reason` or '') for one test."""
    reason = " ".join(t.reason.split())
    if t.status == Status.ERROR and MISSING_MARK.match(reason):
        reason = f"error: {reason}"
    elif t.status == Status.MISSING:
        reason = reason[len("missing:"):].strip() if MISSING_MARK.match(reason) else reason
        reason = f"missing: {reason or 'no result in the log'}"
    elif t.status == Status.FLAKY:
        reason = f"runs {','.join(t.runs)}"
    ok, word = WRITE[t.status]
    return ok, (f" # {word} {reason}".rstrip() if word else "")


def _diagnostics(t: TestResult, path: str, notes: dict[str, list[str]],
                 log_lines: int) -> list[str]:
    """What goes above a test's result line: its notes, the tail of its log when
    it is bad or flaky, and its duration."""
    lines = list(notes.get(path, []))
    if (t.status.is_bad or t.status == Status.FLAKY) and log_lines > 0:
        lines += t.log[-log_lines:]
    if t.duration is not None:
        lines.append(f"duration: {t.duration:.3f}s")
    return lines


def _emit(tests: list[TestResult], depth: int, out: list[str], log_lines: int,
          notes: dict[str, list[str]], prefix: str = "") -> None:
    pad = "  " * depth
    for i, t in enumerate(tests, 1):
        path = f"{prefix}/{t.name}" if prefix else t.name
        if t.subtests:
            inner = pad + "  "
            out += [f"{inner}KTAP version 1", f"{inner}# Subtest: {_clean(t.name)}",
                    f"{inner}1..{len(t.subtests)}"]
            _emit(t.subtests, depth + 1, out, log_lines, notes, path)
        out += [f"{pad}# {' '.join(line.split())}".rstrip()
                for line in _diagnostics(t, path, notes, log_lines)]
        ok, tail = _directive(t)
        out.append(f"{pad}{ok} {i} {_clean(t.name)}{tail}")


def emit_ktap(tests: list[TestResult], log_lines: int = 20,
              notes: dict[str, list[str]] | None = None) -> str:
    """KTAP v1 for these tests, subtests nested and indented by two spaces.
    `notes`: diagnostics written above the result of the test at that path
    (names joined by '/'), whatever its status."""
    out = ["KTAP version 1", f"1..{len(tests)}"]
    _emit(tests, 0, out, log_lines, notes or {})
    return "\n".join(out) + "\n"
