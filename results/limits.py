"""Caps every log parser keeps, so a hostile or broken log is parsed in linear
time and bounded memory. Past a cap a parser stops (or stops adding), marks its
ParsedLog incomplete and says which cap in its notes."""
from __future__ import annotations

MAX_LINE = 64 * 1024        # characters of one line kept; the rest is cut
MAX_LINES = 2_000_000       # lines of one log read
MAX_DEPTH = 32              # KTAP nesting levels
MAX_TESTS = 100_000         # results (tests and subtests) of one log
MAX_MISSING = 1_000         # MISSING records synthesized for one plan


def bounded(lines: list[str], notes: list[str]) -> tuple[list[str], bool]:
    """The lines cut to MAX_LINES lines of at most MAX_LINE characters, and
    whether anything was cut (a note says what)."""
    cut = False
    if len(lines) > MAX_LINES:
        notes.append(f"log cut at {MAX_LINES} lines (it has {len(lines)})")
        lines, cut = lines[:MAX_LINES], True
    long = [n for n, x in enumerate(lines, 1) if len(x) > MAX_LINE]
    if long:
        notes.append(f"{len(long)} line(s) longer than {MAX_LINE} characters cut "
                     f"(first: line {long[0]})")
        lines = [x[:MAX_LINE] for x in lines]
        cut = True
    return lines, cut


class MissingBudget:
    """MISSING records synthesized for the plans of one log: at most MAX_MISSING
    in all, whatever the number of plans (a note says when some are left out)."""

    def __init__(self, notes: list[str]):
        self.notes = notes
        self.left = MAX_MISSING
        self.noted = False

    def take(self, plan: int, have: int) -> int:
        """How many of the `plan - have` missing tests of this plan to list."""
        want = max(plan - have, 0)
        if want > self.left and not self.noted:
            self.noted = True
            self.notes.append(f"plan of {plan} with {have} reported: only {self.left} "
                              f"missing tests listed (at most {MAX_MISSING} a log)")
        want = min(want, self.left)
        self.left -= want
        return want
