"""How a bisect searches: today's search (core.search, `--tries` per step) or, when
the criterion is said to be flaky (`--flake-rate`, `--measure-flakiness`), the
probabilistic one (bayes.bayes_search); either way a SearchResult for the report.

Effects are injected: `once(i) -> (good|bad|skip, why, build seconds)` is one run
of candidate i's job, judged.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from common.errors import UsageError

from .bayes import (DEFAULT_CONFIDENCE, DEFAULT_MAX_RUNS, FOUND, FlakeModel, BayesResult,
                    bayes_search)
from .core import BAD, FLAKY, GOOD, SKIP, SearchResult, Step, StepVerdict, evaluate_with_tries, search

Once = Callable[[int], tuple[str, str, float]]


@dataclass
class SearchOptions:
    tries: int = 3                   # core.search: runs of a failing step
    flake: FlakeModel | None = None  # the criterion's flakiness, when known
    measure: int = 0                 # runs of the bad end that estimate p
    false_fail: float = 0.0          # q with --measure-flakiness
    confidence: float = DEFAULT_CONFIDENCE
    max_runs: int = DEFAULT_MAX_RUNS
    confirm: int = 3                 # reruns of each confirmation check (0: none)

    @property
    def adaptive(self) -> bool:
        return self.flake is not None or self.measure > 0


def run_search(cands: list, once: Once, opts: SearchOptions,
               on_step: Callable[[int, StepVerdict], None] = lambda i, v: None,
               ) -> tuple[SearchResult, list[str], FlakeModel | None]:
    """(result, extra report lines: the flake model and the top candidates, the
    flake model when the search was adaptive). on_step sees each step's verdict
    of today's search."""
    if not opts.adaptive:
        def evaluate(i: int, _cand) -> StepVerdict:
            last: list = []
            v = evaluate_with_tries(lambda: _keep(last, once(i)), opts.tries)
            v.detail, v.seconds = (last[-1][1], last[0][2]) if last else ("", 0.0)
            on_step(i, v)
            return v
        return search(cands, evaluate), [], None
    model, counts = opts.flake, {}
    if model is None:
        model, measured = measure(len(cands) - 1, once, opts, counts)
        if model is None:
            return measured, [], None
    res = bayes_search(len(cands), lambda i: _record(counts, i, once(i)), model,
                       opts.confidence, opts.max_runs)
    return to_search_result(res, cands, counts), summary_lines(res, cands, model), model


def _keep(last: list, outcome: tuple[str, str, float]) -> str:
    last.append(outcome)
    return outcome[0]


def _record(counts: dict, i: int, outcome: tuple[str, str, float]) -> bool | None:
    """Add one run to candidate i's fail:runs; True failed, None could not be judged."""
    verdict, why, build = outcome
    c = counts.setdefault(i, {"fails": 0, "runs": 0, "skips": 0, "why": why, "build": build})
    if verdict == SKIP:
        c["skips"] += 1
        c["why"] = why
        return None
    c["runs"] += 1
    c["fails"] += verdict == BAD
    c["why"] = why if verdict == BAD or not c["fails"] else c["why"]
    return verdict == BAD


def measure(bad_end: int, once: Once, opts: SearchOptions,
            counts: dict) -> tuple[FlakeModel | None, SearchResult | None]:
    """Run the bad end `opts.measure` times: p = (fails + 1/2) / (runs + 1), never
    0 or 1. No failure at all: the range does not reproduce."""
    for _ in range(opts.measure):
        _record(counts, bad_end, once(bad_end))
    c = counts.get(bad_end, {"fails": 0, "runs": 0})
    if c["fails"] == 0:
        return None, SearchResult("not-reproduced", steps=[], message=(
            f"the last candidate did not fail in {c['runs']} of {opts.measure} run(s)"))
    p = (c["fails"] + 0.5) / (c["runs"] + 1)
    if opts.false_fail >= p:
        raise UsageError(f"--false-fail-rate {opts.false_fail:g} is not below the measured "
                         f"flake rate {p:.3f} (fail:runs {c['fails']}:{c['runs']})")
    return FlakeModel(p, opts.false_fail), None


def to_search_result(res: BayesResult, cands: list, counts: dict) -> SearchResult:
    steps = [Step(i, cands[i], _verdict(c)) for i, c in sorted(counts.items())]
    status = "found" if res.status == FOUND else res.status
    return SearchResult(status, res.first_bad, res.last_good, steps, res.message)


def _verdict(c: dict) -> StepVerdict:
    if c["runs"] == 0:
        v = SKIP
    else:
        v = GOOD if c["fails"] == 0 else BAD if c["fails"] == c["runs"] else FLAKY
    return StepVerdict(v, c["fails"], c["runs"], c["why"], c["build"])


def summary_lines(res: BayesResult, cands: list, model: FlakeModel) -> list[str]:
    lines = [f"flake model: p={model.p:.3g} (a bad step fails), q={model.q:.3g} (a good "
             f"step fails); {len(res.runs)} run(s)", "top candidates:"]
    for i, prob in res.top(3):
        label = getattr(cands[i], "label", None) or str(cands[i])
        lines.append(f"  {prob:.3f}  {label}")
    return lines
