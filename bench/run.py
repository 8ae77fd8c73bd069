"""The whole bench in one run: the measurements in an order that lets each reuse
what the one before left (one cold build serves 2, 3 and 4), results written at
the end, and a failed measurement recorded as FAILED while the others go on."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import HarnessError, UsageError
from common.fsutil import REPO_ROOT, atomic_write, write_json

from . import m_jobs
from .coldcache import ColdRequest, reset_private_cache
from .context import Context, Steps
from .m_bisect import bisect_cost
from .m_flaky import measure_flaky
from .m_maketest import CACHED_TARGET, CACHED_TITLE, COLD_TARGET, COLD_TITLE, measure_maketest
from .m_parallel import measure_parallel
from .m_parsing import ParseRequest, measure_parsing
from .m_shared import DEFAULT_MATRIX, TITLE as SHARED_TITLE, measure_shared
from .machine import git_commit, machine
from .report import check_doc, markdown, results_doc, verdict_lines
from .stats import Figure, Target, failed, figure_order

ALL = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
# What a failed measurement records: its figures' titles and targets, by figure id.
FIGURES = {"1": ("overhead: reproduce.sh against harness.py run (warm)", Target("<=", 1.03)),
           "2": ("cached rerun against the cold run", None),
           "3a": (m_jobs.SMALL_TITLE, m_jobs.SMALL_TARGET),
           "3b": (m_jobs.HEADER_TITLE, m_jobs.HEADER_TARGET),
           "4": ("revision switch path-iterator v2-6.12 -> v5-6.12", None),
           "5": ("bisect cost (5-patch series)", None),
           "6a": ("tests in parallel", None),
           "7a": ("parsing", None),
           "8a": ("flaky bisect simulation", Target(">=", 0.95)),
           "9": (SHARED_TITLE, None),
           "10": (COLD_TITLE, COLD_TARGET),
           "11": (CACHED_TITLE, CACHED_TARGET)}
FIGURES_OF = {n: [f for f in FIGURES if figure_order(f)[0] == n] for n in ALL}


@dataclass
class BenchRequest:
    only: tuple[int, ...] = ALL
    repeat: int = 3
    out: Path = REPO_ROOT / "bench" / "out"
    json_path: Path = REPO_ROOT / "bench" / "results.json"
    md_path: Path = REPO_ROOT / "bench" / "results.md"
    shared_matrix: Path = DEFAULT_MATRIX        # measurement 9's matrix


@dataclass
class BenchResult:
    doc: dict
    figures: list[Figure] = field(default_factory=list)

    @property
    def missed(self) -> list[Figure]:
        return [f for f in self.figures if f.met is False]


def parse_only(text: str) -> tuple[int, ...]:
    """`--only 7,1` -> (1, 7); numbers outside ALL are a usage error."""
    try:
        nums = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise UsageError(f"--only {text!r}: expected numbers such as 7,1") from None
    bad = [n for n in nums if n not in ALL]
    if bad or not nums:
        raise UsageError(f"--only {text!r}: measurements are 1..{ALL[-1]}")
    return tuple(nums)


def _attempt(ctx: Context, n: list, name: str, fn, figures: list[Figure]):
    """Run one measurement step; on a harness error record FAILED figures for `n`
    (measurement numbers, meaning all their figures, or figure ids such as "3b")
    and return None."""
    try:
        with ctx.steps.step(name):
            return fn()
    except HarnessError as e:
        for fid in (f for k in n for f in (FIGURES_OF[k] if isinstance(k, int) else [k])):
            title, target = FIGURES[fid]
            fig = failed(fid, title, str(e).splitlines()[0], target)
            if getattr(e, "fid", None) == fid and e.raw:    # what a failed run did
                fig.raw = e.raw
            figures.append(fig)
        return None


class _Partial:
    """Rewrites the results files after every step, marked incomplete, so a bench
    stopped midway leaves what it measured."""

    def __init__(self, req: "BenchRequest", ctx: Context, figures: list[Figure]):
        self.req, self.ctx, self.figures = req, ctx, figures
        self.cold = "no cold run of figures 2-5 in this run (figure 10 says how it ran cold)"

    def __call__(self, result):
        _write(self.req, self.ctx, self.figures, self.cold, complete=False)
        return result


def run_bench(req: BenchRequest, runner, steps: Steps | None = None) -> BenchResult:
    if req.repeat < 1:
        raise UsageError("--repeat must be at least 1")
    ctx = Context(runner, Path(req.out), steps or Steps(), req.repeat)
    only = set(req.only)
    figures: list[Figure] = []
    ctx.commit = git_commit(runner)
    save = _Partial(req, ctx, figures)
    if 8 in only:
        figs = _attempt(ctx, [8], "8 flaky bisect simulation", measure_flaky, figures)
        figures += figs or []
        for line in figs[0].raw["table"].splitlines() if figs else []:
            ctx.steps.line(line)
        save(figs)
    if 7 in only:
        res = _attempt(ctx, [7], "7 parsing", lambda: measure_parsing(
            ParseRequest(repeat=max(req.repeat, 5))), figures)
        if res is not None:
            figures += res.figures
        save(res)
    cold = None
    if only & {2, 3, 4, 5}:
        seeded = _attempt(ctx, sorted(only & {2, 3, 4, 5}), "reset the private cache",
                          lambda: reset_private_cache(ctx, ColdRequest()), figures)
        if seeded is None:
            only -= {2, 3, 4, 5}
        else:
            save.cold = (f"{m_jobs.COLD}; tree from a {seeded.seeded_from}; the private "
                         f"cache is {seeded.cache}")
    if only & {2, 3, 4}:
        cold = _attempt(ctx, sorted(only & {2, 3, 4}), f"cold run of {m_jobs.SERIES_A}",
                        lambda: m_jobs.cold_run(ctx), figures)
        if cold is None:
            only -= {2, 3, 4}
    if 3 in only:           # 3a first: after 3b's bpf.h, every includer would remake
        for fid, name, measure in (("3a", m_jobs.SERIES_SMALL, m_jobs.small_series),
                                   ("3b", m_jobs.SERIES_B, m_jobs.header_series)):
            fig = _attempt(ctx, [fid], f"{fid} second series {name}",
                           lambda: measure(ctx, cold), figures)
            figures += [fig] if fig else []
            save(fig)
    if only & {1, 2}:
        figs = _attempt(ctx, sorted(only & {1, 2}), "1/2 warm reruns and reproduce.sh",
                        lambda: m_jobs.reruns(ctx, cold.run if cold else None,
                                              rerun=2 in only, overhead=1 in only), figures)
        figures += figs or []
        save(figs)
    if 4 in only:
        fig = _attempt(ctx, [4], "4 revision switch to v5-6.12",
                       lambda: m_jobs.revision_switch(ctx, cold), figures)
        figures += [fig] if fig else []
        save(fig)
    if 5 in only:
        fig = _attempt(ctx, [5], "5 bisect", lambda: bisect_cost(ctx), figures)
        figures += [fig] if fig else []
        save(fig)
    if 6 in only:
        figs = _attempt(ctx, [6], "6 tests in parallel", lambda: measure_parallel(ctx), figures)
        figures += figs or []
        save(figs)
    if 9 in only:
        fig = _attempt(ctx, [9], f"9 shared ccache on {req.shared_matrix.name}",
                       lambda: measure_shared(ctx, req.shared_matrix), figures)
        figures += [fig] if fig else []
        save(fig)
    if only & {10, 11}:
        want = sorted(only & {10, 11})
        figs = _attempt(ctx, want, "10/11 cold and cached `make test`",
                        lambda: measure_maketest(ctx, cached=11 in only,
                                                 cold=10 in only), figures)
        figures += [f for f in figs or [] if int(f.id) in want]
    return _finish(req, ctx, figures, save.cold)


def _write(req: BenchRequest, ctx: Context, figures: list[Figure], cold: str,
           complete: bool) -> dict:
    date = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    doc = results_doc(sorted(figures, key=lambda f: figure_order(f.id)),
                      machine(ctx.jobs, ctx.commit), date, {"only": list(req.only), "repeat": req.repeat, "out": str(req.out),
                             "shared_matrix": str(req.shared_matrix)}, ctx.steps.done, cold)
    doc["complete"] = complete
    check_doc(doc, str(req.json_path))
    write_json(req.json_path, doc)
    atomic_write(req.md_path, markdown(doc))
    return doc


def _finish(req: BenchRequest, ctx: Context, figures: list[Figure], cold: str) -> BenchResult:
    figures.sort(key=lambda f: figure_order(f.id))
    doc = _write(req, ctx, figures, cold, complete=True)
    for line in verdict_lines(doc):
        ctx.steps.line(line)
    ctx.steps.line(f"wrote {req.json_path} and {req.md_path}")
    return BenchResult(doc, figures)
