"""Binary search for the first bad candidate, with skips and flaky steps.

Candidates are ordered; candidates[0] is expected good and candidates[-1] bad. Both
ends are checked first, so a range that does not show the failure is reported as
such instead of blaming an arbitrary step.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Generic, TypeVar

T = TypeVar("T")

GOOD, BAD, SKIP, FLAKY = "good", "bad", "skip", "flaky"


@dataclass
class StepVerdict:
    verdict: str                 # good, bad, skip, flaky
    fails: int = 0               # fail:runs, as the 0-day robot counts them
    runs: int = 0
    detail: str = ""
    seconds: float = 0.0         # the step's own build time, when it built
    data: dict = field(default_factory=dict)

    def counts(self) -> str:
        return f"fail:runs {self.fails}:{self.runs}"


@dataclass
class Step(Generic[T]):
    index: int
    candidate: T
    verdict: StepVerdict


@dataclass
class SearchResult(Generic[T]):
    status: str                          # found, not-reproduced, good-end-is-bad, flaky, all-skipped
    first_bad: int | None = None
    last_good: int | None = None
    steps: list[Step] = field(default_factory=list)
    message: str = ""


def search(candidates: list[T], evaluate: Callable[[int, T], StepVerdict]) -> SearchResult[T]:
    if len(candidates) < 2:
        raise ValueError("bisect needs at least a good and a bad candidate")
    steps: list[Step] = []
    seen: dict[int, StepVerdict] = {}

    def check(i: int) -> StepVerdict:
        if i not in seen:
            seen[i] = evaluate(i, candidates[i])
            steps.append(Step(i, candidates[i], seen[i]))
        return seen[i]

    end = check(len(candidates) - 1)
    if end.verdict != BAD:
        return _stop(end, len(candidates) - 1, steps, "not-reproduced",
                     "the last candidate does not show the failure")
    start = check(0)
    if start.verdict != GOOD:
        return _stop(start, 0, steps, "good-end-is-bad",
                     "the first candidate is not good")
    return _narrow(0, len(candidates) - 1, check, steps)


def _stop(v: StepVerdict, i: int, steps, status: str, why: str) -> SearchResult:
    if v.verdict == FLAKY:
        status, why = "flaky", f"candidate {i} is flaky ({v.counts()})"
    elif v.verdict == SKIP:
        status, why = "all-skipped", f"candidate {i} could not be tested: {v.detail}"
    return SearchResult(status, steps=steps, message=why)


def _narrow(good: int, bad: int, check, steps) -> SearchResult:
    skipped: set[int] = set()
    while bad - good > 1:
        i = _pick(good, bad, skipped)
        if i is None:
            return SearchResult("all-skipped", bad, good, steps,
                                f"every candidate between {good} and {bad} was skipped; "
                                f"the first bad one is among {good + 1}..{bad}")
        v = check(i)
        if v.verdict == GOOD:
            good = i
        elif v.verdict == BAD:
            bad = i
        elif v.verdict == SKIP:
            skipped.add(i)
        else:
            return SearchResult("flaky", bad, good, steps,
                                f"candidate {i} is flaky ({v.counts()}): neither good nor bad")
    return SearchResult("found", bad, good, steps, f"first bad candidate: {bad}")


def _pick(good: int, bad: int, skipped: set[int]) -> int | None:
    """The untested, unskipped index nearest the middle of (good, bad)."""
    mid = (good + bad) // 2
    order = sorted(range(good + 1, bad), key=lambda i: (abs(i - mid), i))
    for i in order:
        if i not in skipped:
            return i
    return None


def evaluate_with_tries(run_once: Callable[[], str], tries: int) -> StepVerdict:
    """Run a step up to `tries` times while it fails; disagreeing runs make it flaky.

    run_once returns good, bad or skip. A skip ends the step at once."""
    fails = runs = 0
    for _ in range(max(1, tries)):
        outcome = run_once()
        if outcome == SKIP:
            return StepVerdict(SKIP, fails, runs + 1)
        runs += 1
        if outcome == GOOD:
            break
        fails += 1
    if fails == 0:
        return StepVerdict(GOOD, 0, runs)
    if fails == runs:
        return StepVerdict(BAD, fails, runs)
    return StepVerdict(FLAKY, fails, runs)
