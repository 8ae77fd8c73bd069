"""Measurement 7: parse time per 10^5 lines and peak memory of the test_progs and
KTAP parsers (results/), on synthetic 100,000-line logs. Absolute figures."""
from __future__ import annotations

import time
import tracemalloc
from dataclasses import dataclass
from typing import Callable

from results.ktap import parse_ktap
from results.test_progs import parse_test_progs

from .stats import Figure
from .synth import KTAP_SOURCE, TEST_PROGS_SOURCE, ktap_log, test_progs_log

LINES = 100_000
PER = 100_000


@dataclass
class ParseRequest:
    repeat: int = 5
    lines: int = LINES


@dataclass
class ParseResult:
    figures: list[Figure]


def _timed(parse: Callable, lines: list[str]) -> tuple[float, int]:
    t = time.perf_counter()
    parsed = parse(lines)
    took = time.perf_counter() - t
    return took, sum(parsed.counts().values())


def _peak(parse: Callable, lines: list[str]) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        parse(lines)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _figures(fid: str, name: str, parse: Callable, lines: list[str], source,
             repeat: int) -> list[Figure]:
    times, tests = [], 0
    for _ in range(repeat):
        took, tests = _timed(parse, lines)
        times.append(took * PER / len(lines))
    peak = _peak(parse, lines) / (1 << 20)
    src = source.relative_to(source.parents[3])
    what = (f"{name} on a synthetic log of {len(lines)} lines ({tests} leaf tests), "
            f"copies of {src} renumbered")
    t = Figure(f"{fid}a", f"parse {name}: time per 1e5 lines", samples=times, unit="s",
               what=what, raw={"lines": len(lines), "seconds_per_1e5": times, "tests": tests},
               notes=["absolute figure (seconds on this machine), not a ratio"])
    m = Figure(f"{fid}b", f"parse {name}: peak memory", samples=[peak], unit="MiB",
               what=what + "; tracemalloc peak during one parse, input lines excluded",
               raw={"peak_bytes": int(peak * (1 << 20))},
               notes=["absolute figure, not a ratio; measured once (tracemalloc is "
                      "deterministic for the same input)"])
    return [t, m]


def measure_parsing(req: ParseRequest) -> ParseResult:
    tp = test_progs_log(req.lines)
    kt = ktap_log(req.lines)
    figs = _figures("7", "test_progs", parse_test_progs, tp, TEST_PROGS_SOURCE, req.repeat)
    figs += _figures("7", "KTAP", parse_ktap, kt, KTAP_SOURCE, req.repeat)
    figs[2].id, figs[3].id = "7c", "7d"
    return ParseResult(figs)
