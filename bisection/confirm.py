"""Confirmation of a found culprit: run it and the last good step again, and the
bad end without the culprit (the series without the patch, or a revert of the
commit), and say whether they agree with the bisect.

Pure: each check's runs are injected (`run_once() -> (good|bad|skip, why)`). A
check agrees when its fail:runs count fits the flake model: a step expected bad
needs at least one failure, and a count that a bad step (failure rate p) explains
better than a good one (q): with q = 0, one failure in N runs is enough, however
flaky; a step expected good no more failures than q makes likely (with q = 0 none).
With the default p=1, q=0: every run of the culprit fails, every other run passes.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable

from .bayes import FlakeModel
from .core import BAD, GOOD, SKIP

CONFIRMED, UNCONFIRMED, INCONCLUSIVE = "confirmed", "unconfirmed", "inconclusive"
UNLIKELY = 0.05          # a count less likely than this under the model disagrees


@dataclass
class Check:
    name: str                                   # "culprit (3 patches: ...)"
    expect: str                                 # bad or good
    run_once: Callable[[], tuple[str, str]] | None = None
    unavailable: str = ""                       # why it cannot be run at all


@dataclass
class CheckResult:
    name: str
    expect: str
    fails: int = 0
    runs: int = 0
    agrees: bool | None = None                  # None: could not be judged
    detail: str = ""

    def line(self) -> str:
        state = {True: "agrees", False: "DISAGREES", None: "not judged"}[self.agrees]
        return (f"{self.name}: expected {self.expect}, fail:runs {self.fails}:{self.runs}, "
                f"{state}" + (f" - {self.detail}" if self.detail else ""))


@dataclass
class Confirmation:
    verdict: str                                # confirmed, unconfirmed, inconclusive
    why: str
    checks: list[CheckResult] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"confirmation: {self.verdict}" + (f" ({self.why})" if self.why else ""),
                *(f"  {c.line()}" for c in self.checks)]

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "why": self.why,
                "checks": [asdict(c) for c in self.checks]}


def _binom(k: int, n: int, rate: float) -> float:
    return math.comb(n, k) * rate ** k * (1 - rate) ** (n - k)


def agrees(expect: str, fails: int, runs: int, model: FlakeModel) -> bool:
    if expect == BAD:
        return fails > 0 and _binom(fails, runs, model.p) > _binom(fails, runs, model.q)
    tail = sum(_binom(k, runs, model.q) for k in range(fails, runs + 1))
    return tail >= UNLIKELY


def run_check(check: Check, runs: int, model: FlakeModel) -> CheckResult:
    res = CheckResult(check.name, check.expect, detail=check.unavailable)
    if check.unavailable or check.run_once is None:
        return res
    for _ in range(runs):
        verdict, why = check.run_once()
        if verdict == SKIP:
            res.detail = f"could not be judged: {why}"
            return res
        res.runs += 1
        if not res.fails:
            res.detail = why                    # the first failure's why, if any
        res.fails += verdict == BAD
    res.agrees = agrees(check.expect, res.fails, res.runs, model)
    return res


def confirm(checks: list[Check], runs: int, model: FlakeModel | None = None) -> Confirmation:
    """Unconfirmed when any check disagrees, else inconclusive when any could not be
    judged, else confirmed."""
    model = model or FlakeModel()
    results = [run_check(c, runs, model) for c in checks]
    wrong = [r for r in results if r.agrees is False]
    if wrong:
        return Confirmation(UNCONFIRMED, "; ".join(
            f"{r.name} was expected {r.expect} but gave fail:runs {r.fails}:{r.runs}"
            for r in wrong), results)
    unjudged = [r for r in results if r.agrees is None]
    if unjudged:
        return Confirmation(INCONCLUSIVE, "; ".join(f"{r.name}: {r.detail}"
                                                    for r in unjudged), results)
    return Confirmation(CONFIRMED, "", results)
