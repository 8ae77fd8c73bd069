"""KTAP / TAP parser and KTAP writer. Pure functions over lines.

Handles `KTAP version 1` / `TAP version 13|14`, plans (`1..N`, `1..0 # SKIP why`),
`ok` / `not ok` with numbers, descriptions and the directives SKIP, TODO, XFAIL,
TIMEOUT and ERROR, diagnostics, nested subtests (indented, KTAP style, or TAP14
`# Subtest:`), TAP13 YAML blocks, `Bail out!`, and unknown lines. Tests that a
plan promises but the log never reports come back as MISSING and the log is
marked incomplete, so a truncated run never reads as passed.

The writer marks two statuses that KTAP has no directive for: MISSING is written
as `not ok N name # ERROR missing: ...`, FLAKY as `ok N name # flaky: runs ...`;
the parser reads both back.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from common.errors import ParseError

from .model import ParsedLog, Status, TestResult

VERSION = re.compile(r"^(?:KTAP version \d+|TAP version \d+)\s*$")
PLAN = re.compile(r"^1\.\.(\d+)\s*(?:#\s*(.*))?$")
RESULT = re.compile(r"^(ok|not ok)\b(?:\s+(\d+))?(?:\s*-)?\s*(.*)$")
SUBTEST_HDR = re.compile(r"^#\s*Subtest:\s*(.*)$")
BAIL = re.compile(r"^Bail out!\s*(.*)$")
DIRECTIVES = {"SKIP": Status.SKIP, "SKIPPED": Status.SKIP, "TODO": Status.TODO,
              "XFAIL": Status.XFAIL, "TIMEOUT": Status.TIMEOUT, "ERROR": Status.ERROR}


@dataclass
class _Frame:
    indent: int
    tests: list = field(default_factory=list)
    plan: int | None = None
    plan_skip: str | None = None
    log: list = field(default_factory=list)
    name: str | None = None          # from "# Subtest: name"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def split_description(rest: str) -> tuple[str, str | None, str]:
    """(name, directive or None, reason) from the text after the test number."""
    name, sep, tail = rest.partition(" #")
    if not sep and rest.startswith("#"):
        name, tail, sep = "", rest[1:], "#"
    if not sep:
        return rest.strip(), None, ""
    word, _, reason = tail.strip().partition(" ")
    key = word.upper().rstrip(":")
    if key in DIRECTIVES:
        return name.strip(), key, reason.strip()
    return name.strip(), None, tail.strip()


def result_status(ok: bool, directive: str | None, reason: str) -> Status:
    if directive == "ERROR" and reason.lower().startswith("missing"):
        return Status.MISSING
    if directive is not None:
        st = DIRECTIVES[directive]
        if st == Status.XFAIL and not ok:
            return Status.FAIL
        return st
    if ok and reason.lower().startswith("flaky"):
        return Status.FLAKY
    return Status.PASS if ok else Status.FAIL


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

    def run(self) -> ParsedLog:
        for n, raw in enumerate(self.lines, 1):
            self.line(n, raw.rstrip("\r\n"))
        self.finish()
        return ParsedLog("ktap", self.stack[0].tests, unknown=self.unknown,
                         complete=self.complete, notes=self.notes)

    def line(self, n: int, raw: str) -> None:
        if self.yaml_indent is not None:
            self._yaml(raw)
            return
        if not raw.strip():
            return
        ind, text = _indent(raw), raw.strip()
        if VERSION.match(text):
            self.seen_tap = True
            self._version(ind)
        elif PLAN.match(text):
            self.seen_tap = True
            self._plan(ind, PLAN.match(text))
        elif RESULT.match(text):
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
            self._frame_for(ind).log.append(text.lstrip("#").strip())
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
        fr = _Frame(indent=ind)
        self.stack.append(fr)
        return fr

    def _fresh_child(self, ind: int) -> bool:
        top = self.stack[-1]
        return len(self.stack) > 1 and top.indent == ind and not top.tests and top.plan is None

    def _version(self, ind: int) -> None:
        if ind > self.stack[-1].indent:
            self._push(ind)

    def _plan(self, ind: int, m: re.Match) -> None:
        fr = self._push(ind) if ind > self.stack[-1].indent else self._frame_for(ind)
        fr.plan = int(m.group(1))
        if fr.plan == 0 and m.group(2):
            fr.plan_skip = m.group(2)

    def _subtest_header(self, ind: int, name: str) -> None:
        if ind > self.stack[-1].indent:
            self._push(ind).name = name
        elif self._fresh_child(ind):
            self.stack[-1].name = name
        else:
            self._frame_for(ind).log.append(f"Subtest: {name}")

    def _missing_parent(self, child: _Frame, parent: _Frame) -> None:
        """A nested block whose own result line never came."""
        self.complete = False
        parent.tests.append(TestResult(child.name or f"test {len(parent.tests) + 1}",
                                       Status.MISSING, len(parent.tests) + 1,
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
        ok = m.group(1) == "ok"
        name, directive, reason = split_description(m.group(3))
        num = int(m.group(2)) if m.group(2) else len(fr.tests) + 1
        log = (carried.log if carried else []) + fr.log
        t = TestResult(name or (carried.name if carried and carried.name else f"test {num}"),
                       result_status(ok, directive, reason), num, reason, log=log,
                       subtests=carried.tests if carried else [], line=n)
        fr.log = []
        fr.tests.append(t)
        self.last = t

    def _bail(self, n: int, why: str) -> None:
        self.complete = False
        self.notes.append(f"line {n}: Bail out! {why}".rstrip())

    def _fill_missing(self, fr: _Frame) -> None:
        if fr.plan is None or len(fr.tests) >= fr.plan:
            return
        self.complete = False
        have = {t.number for t in fr.tests}
        for k in range(1, fr.plan + 1):
            if k not in have and len(fr.tests) < fr.plan:
                fr.tests.append(TestResult(f"test {k}", Status.MISSING, k,
                                           "planned but never reported"))

    def finish(self) -> None:
        carried = self._close_deeper(-1)
        if carried is not None:
            self._missing_parent(carried, self.stack[0])
        self._fill_missing(self.stack[0])
        if self.stack[0].plan is None and self.stack[0].tests:
            self.notes.append("no plan line: cannot tell whether tests are missing")


def parse_ktap(lines: list[str], name: str | None = None) -> ParsedLog:
    """Parse KTAP or TAP. Raises ParseError only when there is no TAP at all."""
    p = _Parser(list(lines))
    parsed = p.run()
    if not p.seen_tap:
        raise ParseError("no KTAP/TAP version, plan or result line found", path=name, line=1)
    return parsed


def _clean(name: str) -> str:
    return name.replace("#", "_").replace("\n", " ").strip() or "unnamed"


def _directive(t: TestResult) -> tuple[str, str]:
    reason = t.reason.replace("\n", " ")
    table = {Status.PASS: ("ok", ""), Status.FAIL: ("not ok", ""),
             Status.SKIP: ("ok", f" # SKIP {reason}"), Status.XFAIL: ("ok", f" # XFAIL {reason}"),
             Status.TODO: ("not ok", f" # TODO {reason}"),
             Status.TIMEOUT: ("not ok", f" # TIMEOUT {reason}"),
             Status.ERROR: ("not ok", f" # ERROR {reason}"),
             Status.MISSING: ("not ok", f" # ERROR missing: {reason or 'no result in the log'}"),
             Status.FLAKY: ("ok", f" # flaky: runs {','.join(t.runs) or reason}")}
    ok, tail = table[t.status]
    return ok, tail.rstrip()


def _emit(tests: list[TestResult], depth: int, out: list[str], log_lines: int) -> None:
    pad = "  " * depth
    out.append(f"{pad}KTAP version 1")
    out.append(f"{pad}1..{len(tests)}")
    for i, t in enumerate(tests, 1):
        if t.subtests:
            out.append(f"{pad}  # Subtest: {_clean(t.name)}")
            _emit(t.subtests, depth + 1, out, log_lines)
        if t.status.is_bad or t.status == Status.FLAKY:
            out += [f"{pad}# {line}" for line in t.log[-log_lines:]]
        ok, tail = _directive(t)
        out.append(f"{pad}{ok} {i} {_clean(t.name)}{tail}")


def emit_ktap(tests: list[TestResult], log_lines: int = 20) -> str:
    """KTAP v1 for these tests, subtests nested and indented by two spaces."""
    out: list[str] = []
    _emit(tests, 0, out, log_lines)
    return "\n".join(out) + "\n"
