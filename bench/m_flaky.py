"""Measurement 8: bisecting a flaky criterion, simulated over the pure search cores.

A synthetic history of 65 steps (a good base and 64 candidates) with one culprit,
uniform over the 64; a run of a step with the culprit fails with probability p,
a run of an earlier step with probability q. Three strategies, each over the same
seeded trials:

    1 run      bisection.core.search, one run per step (git bisect's rule)
    10 runs    bisection.core.search, 10 runs per step, bad if any run failed
               (syzbot's rule); the runs it would have saved by stopping at a
               step's first failure are counted too
    adaptive   bisection.bayes.bayes_search at confidence 0.95, its default run
               budget

Accuracy is how often the true culprit was named ("found" with the right index;
core.search's other outcomes, a range that does not reproduce or a bad good end,
count as wrong). No kernel is built: seconds of CPU."""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable

from bisection.bayes import DEFAULT_MAX_RUNS, FlakeModel, bayes_search
from bisection.core import BAD, GOOD, StepVerdict, search

from .stats import Figure, Target

CANDIDATES = 64
TRIALS = 2000
SEED = 22
CONFIDENCE = 0.95
SYZBOT_RUNS = 10
CASES = ((1.0, 0.0), (0.5, 0.0), (0.3, 0.0), (1.0, 0.05), (0.5, 0.05), (0.3, 0.05))
TARGET_CASE = (0.3, 0.0)
STRATEGIES = ("1 run", "10 runs", "adaptive")


@dataclass
class Outcome:
    strategy: str
    p: float
    q: float
    trials: int
    right: int = 0
    runs: int = 0
    runs_if_stopped: int = 0     # 10 runs: stopping at a step's first failure
    end_runs: int = 0            # runs of the two ends (core.search checks both first)

    @property
    def accuracy(self) -> float:
        return self.right / self.trials

    @property
    def mean_runs(self) -> float:
        return self.runs / self.trials


class Flaky:
    """One trial's criterion: run(i) -> True when the run of step i failed."""

    def __init__(self, rng: random.Random, culprit: int, p: float, q: float):
        self.rng, self.culprit, self.p, self.q = rng, culprit, p, q
        self.runs = 0

    def run(self, i: int) -> bool:
        self.runs += 1
        return self.rng.random() < (self.p if i >= self.culprit else self.q)


def repeated(crit: Flaky, runs: int, n: int, count: dict) -> Callable:
    """core.search's evaluate: `runs` runs, bad if any failed (1 run: git bisect).
    count["saved"]: runs after a step's first failure; count["ends"]: runs of
    steps 0 and n-1."""
    def evaluate(i: int, _cand) -> StepVerdict:
        fails = [crit.run(i) for _ in range(runs)]
        if any(fails):
            count["saved"] += runs - 1 - fails.index(True)
        if i in (0, n - 1):
            count["ends"] += runs
        return StepVerdict(BAD if any(fails) else GOOD, sum(fails), runs)
    return evaluate


def trial(strategy: str, crit: Flaky, n: int) -> tuple[bool, dict]:
    """(named the culprit, {"saved": runs after first failures, "ends": end runs})."""
    count = {"saved": 0, "ends": 0}
    if strategy == "adaptive":
        res = bayes_search(n, crit.run, FlakeModel(crit.p, crit.q), CONFIDENCE,
                           DEFAULT_MAX_RUNS)
        return res.first_bad == crit.culprit, count
    each = 1 if strategy == "1 run" else SYZBOT_RUNS
    res = search(list(range(n)), repeated(crit, each, n, count))
    return res.status == "found" and res.first_bad == crit.culprit, count


def simulate(strategy: str, p: float, q: float, trials: int = TRIALS, seed: int = SEED,
             candidates: int = CANDIDATES) -> Outcome:
    rng = random.Random(f"{seed}-{strategy}-{p}-{q}")
    out = Outcome(strategy, p, q, trials)
    for _ in range(trials):
        crit = Flaky(rng, rng.randint(1, candidates), p, q)
        right, count = trial(strategy, crit, candidates + 1)
        out.right += right
        out.runs += crit.runs
        out.runs_if_stopped += crit.runs - count["saved"]
        out.end_runs += count["ends"]
    return out


def table(outcomes: list[Outcome]) -> str:
    """The README's table: one row per (p, q), accuracy and mean runs per strategy."""
    head = ["| p | q |", "|---|---|"]
    for s in STRATEGIES:
        head[0] += f" {s}: accuracy | {s}: mean runs |"
        head[1] += "---|---|"
    rows = []
    for p, q in sorted({(o.p, o.q) for o in outcomes}, key=lambda c: (c[1], -c[0])):
        row = f"| {p:g} | {q:g} |"
        for s in STRATEGIES:
            o = next(o for o in outcomes if (o.strategy, o.p, o.q) == (s, p, q))
            row += f" {o.accuracy:.1%} | {o.mean_runs:.1f} |"
        rows.append(row)
    return "\n".join(head + rows)


def measure_flaky(trials: int = TRIALS, seed: int = SEED) -> list[Figure]:
    outcomes = [simulate(s, p, q, trials, seed) for p, q in CASES for s in STRATEGIES]
    return figures(outcomes, trials)


def figures(outcomes: list[Outcome], trials: int) -> list[Figure]:
    """8a: the adaptive search's accuracy at TARGET_CASE (>= 0.95); 8b: its mean
    runs over the 10-runs rule's (<= 0.5)."""
    adaptive, rule = (next(o for o in outcomes if (o.strategy, o.p, o.q) == (s, *TARGET_CASE))
                      for s in ("adaptive", "10 runs"))
    p, q = TARGET_CASE
    notes = _notes(adaptive, rule, trials)
    raw = {"candidates": CANDIDATES, "trials": trials, "confidence": CONFIDENCE,
           "max_runs": DEFAULT_MAX_RUNS, "table": table(outcomes),
           "rows": [vars(o) | {"accuracy": o.accuracy, "mean_runs": o.mean_runs}
                    for o in outcomes]}
    acc = Figure("8a", f"adaptive bisect accuracy, p={p:g} q={q:g}",
                 samples=[adaptive.accuracy], unit="accuracy", target=Target(">=", 0.95),
                 raw=raw, notes=[notes[0], notes[3]],
                 what="share of simulated bisects where the adaptive search (confidence "
                      "0.95) named the true culprit")
    runs = Figure("8b", f"adaptive bisect runs / 10-runs rule runs, p={p:g} q={q:g}",
                  samples=[adaptive.mean_runs / rule.mean_runs], target=Target("<=", 0.5),
                  what=f"mean test runs of the adaptive search ({adaptive.mean_runs:.1f}) / "
                       f"mean test runs of 10 runs per step ({rule.mean_runs:.1f})",
                  raw={"adaptive_mean_runs": adaptive.mean_runs,
                       "rule_mean_runs": rule.mean_runs, "rule_accuracy": rule.accuracy,
                       "rule_end_runs": rule.end_runs / trials}, notes=notes[1:3])
    return [acc, runs]


def _notes(adaptive: Outcome, rule: Outcome, trials: int) -> list[str]:
    inner = (rule.runs - rule.end_runs) / trials
    return [f"{trials} seeded trials per strategy and (p, q), {CANDIDATES} candidates, "
            f"one culprit",
            f"10 runs per step: {rule.end_runs / trials:.1f} of its {rule.mean_runs:.1f} "
            f"mean runs check the two ends; without them {inner:.1f} runs, and the adaptive "
            f"search's runs over that are {adaptive.mean_runs / inner:.3f}",
            f"10 runs per step would take {rule.runs_if_stopped / trials:.1f} runs had it "
            f"stopped at each step's first failure (any failure is bad, so the verdicts "
            f"would be the same)",
            "1 run per step: core.search checks the bad end first, so a bad end whose one "
            "run passes ends the bisect as not reproduced (counted wrong)"]
