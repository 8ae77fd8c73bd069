"""Probabilistic bisection: the first bad candidate when the criterion is flaky.

Candidates are ordered; candidates[0] is the known good end. The culprit is the
first bad index c in 1..n-1. A run of step i fails with probability p when i >= c
(the step has the culprit) and q when i < c (a false failure). The search keeps a
posterior over c, updates it by Bayes' rule after every run, runs next the step
whose result is expected to tell the most about c (mutual information between the
run's result and c), and stops when one candidate holds `confidence` or the run
budget is spent. Pure: the runs are injected (`evaluate(i) -> bool | None`, True
when the run failed, None when the step could not be judged).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

FOUND, BUDGET, ALL_SKIPPED = "found", "budget-spent", "all-skipped"
DEFAULT_CONFIDENCE = 0.95
DEFAULT_MAX_RUNS = 150


@dataclass(frozen=True)
class FlakeModel:
    p: float = 1.0      # P(a run fails | the step has the culprit)
    q: float = 0.0      # P(a run fails | the step is before the culprit)

    def __post_init__(self):
        if not (0.0 < self.p <= 1.0 and 0.0 <= self.q < self.p):
            raise ValueError(f"flake model needs 0 < p <= 1 and 0 <= q < p "
                             f"(p={self.p}, q={self.q})")

    def likelihood(self, bad: bool, failed: bool) -> float:
        rate = self.p if bad else self.q
        return rate if failed else 1.0 - rate


@dataclass
class Run:
    index: int
    failed: bool | None          # None: the step could not be judged


@dataclass
class BayesResult:
    status: str                  # found, budget-spent, all-skipped
    first_bad: int               # the most probable culprit
    confidence: float            # its posterior probability
    posterior: list[float]       # P(culprit = i); posterior[0] is always 0
    runs: list[Run] = field(default_factory=list)
    message: str = ""

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The k most probable culprits, most probable first."""
        order = sorted(range(len(self.posterior)), key=lambda i: (-self.posterior[i], i))
        return [(i, self.posterior[i]) for i in order[:k] if self.posterior[i] > 0]

    @property
    def last_good(self) -> int:
        return self.first_bad - 1


def uniform_prior(n: int) -> list[float]:
    if n < 2:
        raise ValueError("bisect needs at least a good and a bad candidate")
    return [0.0] + [1.0 / (n - 1)] * (n - 1)


def update(posterior: list[float], model: FlakeModel, i: int, failed: bool) -> list[float]:
    """Bayes' rule for one run of step i. The search only runs steps whose result
    is uncertain, so some culprit always explains it."""
    post = [w * model.likelihood(c <= i, failed) for c, w in enumerate(posterior)]
    total = sum(post)
    return [w / total for w in post]


def _entropy(x: float) -> float:
    return 0.0 if x <= 0.0 or x >= 1.0 else -x * math.log2(x) - (1 - x) * math.log2(1 - x)


def information(posterior: list[float], model: FlakeModel) -> list[float]:
    """For each step i, the expected information (bits) one run of it gives about
    the culprit: H(result) - H(result | culprit)."""
    noise_bad, noise_good = _entropy(model.p), _entropy(model.q)
    out, below = [], 0.0
    for w in posterior:
        below += w                   # P(culprit <= i): step i has the culprit
        fail = model.p * below + model.q * (1 - below)
        out.append(_entropy(fail) - below * noise_bad - (1 - below) * noise_good)
    return out


def next_step(posterior: list[float], model: FlakeModel, unusable: set[int]) -> int | None:
    """The usable step with the most expected information (the lower index on ties)."""
    gains = information(posterior, model)
    best = [i for i in range(1, len(posterior)) if i not in unusable and gains[i] > 1e-12]
    return max(best, key=lambda i: (gains[i], -i)) if best else None


def bayes_search(n: int, evaluate: Callable[[int], bool | None], model: FlakeModel,
                 confidence: float = DEFAULT_CONFIDENCE, max_runs: int = DEFAULT_MAX_RUNS,
                 prior: list[float] | None = None) -> BayesResult:
    """Run steps until one culprit holds `confidence` or `max_runs` runs were made."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    post = list(prior) if prior is not None else uniform_prior(n)
    runs: list[Run] = []
    unusable: set[int] = set()
    while max(post) < confidence and len(runs) < max_runs:
        i = next_step(post, model, unusable)
        if i is None:
            return _result(ALL_SKIPPED, post, runs, "no step left that could tell the "
                                                    "candidates apart")
        failed = evaluate(i)
        runs.append(Run(i, failed))
        if failed is None:
            unusable.add(i)
            continue
        post = update(post, model, i, failed)
    status = FOUND if max(post) >= confidence else BUDGET
    return _result(status, post, runs, "")


def _result(status: str, post: list[float], runs: list[Run], why: str) -> BayesResult:
    best = max(range(len(post)), key=lambda i: (post[i], -i))
    res = BayesResult(status, best, post[best], post, runs, why)
    if not why:
        res.message = (f"candidate {best} holds {post[best]:.3f} after {len(runs)} run(s)"
                       + ("" if status == FOUND else " (the run budget is spent)"))
    return res
