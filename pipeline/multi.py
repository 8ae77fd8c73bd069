"""Many jobs: a matrix run (builds serial and shared, VMs optionally in parallel),
its combined outputs, and merging shard results."""
from __future__ import annotations

import concurrent.futures as cf
import threading
from pathlib import Path

from common.errors import EXIT_INFRA, EXIT_PASS, EXIT_TESTS_FAILED, InputError
from common.fsutil import write_json
from results import junit
from results.compare import compare_jobs, format_comparison
from results.report import render_html, splat_notes, suite_tree, text_table
from results.store import JobSummary, find_jobs, load_job, write_text

from .check import JobPlan
from .context import JobContext
from .job import JobSpec
from .run import JobOutcome, close_job, open_job, run_stages

VM_STAGES = ("boot", "test")


def _split(stages):
    return ([s for s in stages if s[0] not in VM_STAGES], [s for s in stages if s[0] in VM_STAGES])


def _warn_key(spec: JobSpec) -> tuple:
    """Jobs whose builds are comparable warning for warning."""
    return (spec.tree, spec.profile, spec.toolchain, tuple(spec.make_flags),
            tuple(spec.targets))


class MatrixRun:
    """The jobs of one matrix run: each is closed (outputs written, state final)
    as soon as its last stage ends, and the combined outputs are rewritten then."""

    def __init__(self, plans: list[JobPlan], root: Path, run_id: str, progress,
                 compare_base: bool):
        self.plans, self.run_dir, self.progress = plans, Path(root) / run_id, progress
        self.root, self.run_id, self.compare_base = root, run_id, compare_base
        self.open: dict[int, JobContext] = {}
        self.done: dict[int, JobOutcome] = {}
        self.base_warnings: dict[tuple, list] = {}
        self.lock = threading.Lock()

    def start(self, i: int, runner) -> JobContext:
        ctx = open_job(self.plans[i], runner, self.progress, self.root, self.run_id)
        self.open[i] = ctx
        ctx.base_warnings = self.base_warnings.get(_warn_key(ctx.spec))
        return ctx

    def built(self, ctx: JobContext) -> None:
        """A base job's build gives the warnings its series jobs are compared with."""
        if ctx.spec.base_only and ctx.build is not None:
            self.base_warnings.setdefault(_warn_key(ctx.spec), list(ctx.build.warnings))

    def close(self, i: int, code: int, complete: bool = True) -> None:
        with self.lock:
            ctx = self.open.pop(i, None)
            if ctx is None:
                return
            self.done[i] = close_job(ctx, code, complete)
            self.write()

    def outcomes(self) -> list[JobOutcome]:
        return [self.done[i] for i in sorted(self.done)]

    def write(self) -> tuple[str, list]:
        outs = self.outcomes()
        summaries = [o.summary for o in outs]
        text = matrix_table(summaries)
        comparisons = compare_with_base([o.spec for o in outs], summaries) \
            if self.compare_base else []
        write_combined(self.run_dir, summaries, text, comparisons)
        return text, comparisons


def run_matrix(plans: list[JobPlan], root: Path, run_id: str, runner, progress, jobs: int = 1,
               compare_base: bool = True, stages=None) -> int:
    """Builds run one at a time (they share build dirs and caches). Each job's
    boot and tests start as soon as its build is done: in turn with `jobs` 1, on
    a pool of `jobs` VMs otherwise. Each job is closed when its tests end; Ctrl-C
    still closes the rest and writes the table of what ran."""
    if stages is None:
        from .stages import STAGES as stages
    build_part, vm_part = _split(stages)
    run = MatrixRun(plans, root, run_id, progress, compare_base)
    pool = cf.ThreadPoolExecutor(max_workers=jobs) if jobs > 1 else None
    futs = []

    def vm_then_close(i: int, ctx: JobContext) -> None:
        run.close(i, run_stages(ctx, vm_part))
    try:
        for i in range(len(plans)):
            ctx = run.start(i, runner)
            run_stages(ctx, build_part)
            run.built(ctx)
            if pool is not None:
                futs.append(pool.submit(vm_then_close, i, ctx))
            else:
                run.close(i, run_stages(ctx, vm_part))
        for f in futs:
            f.result()
    except KeyboardInterrupt:
        _finish(run, interrupted=True)
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return _finish(run)


def _finish(run: MatrixRun, interrupted: bool = False) -> int:
    """Close what is still open (incomplete), print the table and the comparisons;
    the exit code of the whole matrix."""
    for i in sorted(run.open):
        run.close(i, EXIT_INFRA, complete=False)
    text, comparisons = run.write()
    progress = run.progress
    progress.info(text)
    for c in comparisons:
        progress.info(format_comparison(c, most=20))
    started = len(run.done)
    if started < len(run.plans):
        progress.info(f"interrupted: {len(run.plans) - started} job(s) never started")
    progress.info(f"results: {run.run_dir}")
    return _exit_code([o.exit_code for o in run.outcomes()])


def _exit_code(codes: list[int]) -> int:
    bad = [c for c in codes if c != EXIT_PASS]
    if not bad:
        return EXIT_PASS
    return EXIT_TESTS_FAILED if all(c == EXIT_TESTS_FAILED for c in bad) else max(bad)


def matrix_table(jobs: list[JobSummary]) -> str:
    return text_table(jobs)


def compare_with_base(specs: list[JobSpec], jobs: list[JobSummary]):
    """Each series job against the base job of the same profile and toolchain."""
    base = {(s.profile, s.toolchain): j for s, j in zip(specs, jobs) if s.base_only}
    out = []
    for s, j in zip(specs, jobs):
        b = base.get((s.profile, s.toolchain))
        if not s.base_only and b is not None:
            out.append(compare_jobs(b, j))
    return out


def write_combined(run_dir: Path, jobs: list[JobSummary], table: str, comparisons) -> None:
    from results.ktap import emit_ktap
    from results.model import TestResult
    from results.compare import worst
    tops = []
    for j in jobs:
        subs = suite_tree(j)
        tops.append(TestResult(j.job, worst(subs), subtests=subs))
    notes = {f"{j.job}/{k}": v for j in jobs for k, v in splat_notes(j).items()}
    write_text(run_dir / "results.tap", emit_ktap(tops, notes=notes))
    write_text(run_dir / "junit.xml", junit.render_jobs([(f"{j.job}:", j) for j in jobs]))
    extra = table + "".join("\n\n" + format_comparison(c) for c in comparisons)
    write_text(run_dir / "report.html", render_html(jobs, f"kharness matrix {run_dir.name}",
                                                    extra))
    write_json(run_dir / "run.json", {"jobs": [{"job": j.job, "exit_code": j.exit_code,
                                                "state": j.state} for j in jobs],
                                      "comparisons": [c.to_dict() for c in comparisons]})
    write_text(run_dir / "summary.txt", table + "\n")


def merge_runs(dirs: list[Path], out: Path) -> int:
    """Join the jobs of several (shard) run dirs into one combined report in `out`."""
    jobs: list[JobSummary] = []
    seen = set()
    for d in dirs:
        for p in find_jobs(d):
            j = load_job(p)
            if j.job in seen:
                raise InputError(f"job {j.job} appears in more than one shard", path=str(p))
            seen.add(j.job)
            jobs.append(j)
    if not jobs:
        raise InputError("no job results in the given dirs", path=str(dirs[0]))
    table = matrix_table(jobs)
    write_combined(Path(out), jobs, table, [])
    print(table)
    return _exit_code([j.exit_code if j.exit_code is not None else EXIT_INFRA for j in jobs])
