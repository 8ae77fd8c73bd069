"""Many jobs: a matrix run (builds serial and shared, VMs optionally in parallel),
its combined outputs, and merging shard results."""
from __future__ import annotations

import concurrent.futures as cf
import ctypes
import threading
from pathlib import Path

from common.errors import EXIT_INFRA, EXIT_PASS, EXIT_TESTS_FAILED, InputError
from common.fsutil import read_json, write_json
from common.progress import MatrixEta
from results import junit
from results.compare import compare_jobs, format_comparison
from results.report import render_html, splat_notes, suite_tree, text_table
from results.store import JobSummary, find_jobs, load_job, write_text

from .check import JobPlan
from .context import JobContext
from .job import JobSpec
from .run import JobOutcome, close_job, open_job, run_stages

VM_STAGES = ("boot", "test")
CANCEL_WAIT = 60.0      # Ctrl-C: how long the VM workers get to tear their VMs down


def job_key(spec: JobSpec) -> str:
    """What makes two jobs' durations comparable, for the matrix's ETA."""
    return "job:" + "/".join([spec.tree] + spec.job_parts())


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
                 compare_base: bool, meta: dict | None = None):
        self.plans, self.run_dir, self.progress = plans, Path(root) / run_id, progress
        self.root, self.run_id, self.compare_base = root, run_id, compare_base
        self.open: dict[int, JobContext] = {}
        self.done: dict[int, JobOutcome] = {}
        self.base_warnings: dict[tuple, list] = {}
        self.lock = threading.Lock()
        self.meta = dict(meta or {})       # run.json extras: the shard plan, ccache remote
        self.eta = MatrixEta(progress, [job_key(p.spec) for p in plans])

    def start(self, i: int, runner) -> JobContext:
        ctx = open_job(self.plans[i], runner, self.progress, self.root, self.run_id)
        self.open[i] = ctx
        ctx.base_warnings = self.base_warnings.get(_warn_key(ctx.spec))
        if self.meta.get("ccache_remote"):
            ctx.facts["ccache"] = {"remote": self.meta["ccache_remote"]}
        if self.meta.get("plan"):
            ctx.facts["shard"] = {k: self.meta["plan"][k] for k in ("id", "shard")}
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
            stages = {s.name: s.duration for s in self.done[i].summary.stages}
            if complete:
                self.eta.job_done(i, sum(stages.values()), stages)
            self.write()

    def outcomes(self) -> list[JobOutcome]:
        return [self.done[i] for i in sorted(self.done)]

    def write(self) -> tuple[str, list]:
        outs = self.outcomes()
        summaries = [o.summary for o in outs]
        text = matrix_table(summaries)
        comparisons = compare_with_base([o.spec for o in outs], summaries) \
            if self.compare_base else []
        write_combined(self.run_dir, summaries, text, comparisons,
                       [o.spec for o in outs], self.meta)
        return text, comparisons


def run_matrix(plans: list[JobPlan], root: Path, run_id: str, runner, progress, jobs: int = 1,
               compare_base: bool = True, stages=None, meta: dict | None = None) -> int:
    """Builds run one at a time (they share build dirs and caches). Each job's
    boot and tests start as soon as its build is done: in turn with `jobs` 1, on
    a pool of `jobs` VMs otherwise. Each job is closed when its tests end; Ctrl-C
    still closes the rest and writes the table of what ran."""
    if stages is None:
        from .stages import STAGES as stages
    build_part, vm_part = _split(stages)
    run = MatrixRun(plans, root, run_id, progress, compare_base, meta)
    pool = cf.ThreadPoolExecutor(max_workers=jobs) if jobs > 1 else None
    futs = []
    workers = Workers()
    gate = _GatedStream.install(progress)
    run.eta.__enter__()

    def vm_then_close(i: int, ctx: JobContext) -> None:
        code, complete = EXIT_INFRA, False
        try:
            if workers.enter(i):
                code = run_stages(ctx, vm_part)
                complete = True
        except KeyboardInterrupt:
            pass                          # cancelled: the VM is down, the job incomplete
        finally:
            workers.leave(i)
        run.close(i, code, complete and not workers.cancelled)
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
        if pool is not None:
            workers.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            _, late = cf.wait(futs, timeout=CANCEL_WAIT)
            if late:
                progress.info(f"interrupted: {len(late)} VM worker(s) still stopping")
        gate.shut = True
        _finish(run, interrupted=True)
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        gate.remove()
        run.eta.__exit__(None, None, None)
    return _finish(run)


class Workers:
    """The VM worker threads of a matrix run and Ctrl-C for them: `cancel()`
    raises KeyboardInterrupt in every worker still running its stages (the same
    path as Ctrl-C in a single job: run_suite keeps its partial results, the
    VM's teardown runs), and no worker starts after it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running: dict[int, int] = {}      # job index -> thread id
        self.cancelled = False

    def enter(self, i: int) -> bool:
        with self.lock:
            if self.cancelled:
                return False
            self.running[i] = threading.get_ident()
            return True

    def leave(self, i: int) -> None:
        with self.lock:
            ident = self.running.pop(i, None)
            if ident is not None:             # a cancel that came too late: drop it
                _async_raise(ident, None)

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True
            for ident in self.running.values():
                _async_raise(ident, KeyboardInterrupt)


def _async_raise(ident: int, exc) -> None:
    """Raise `exc` in thread `ident` at its next Python instruction (None: clear
    a pending one)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(exc) if exc is not None else None)


class _GatedStream:
    """The progress stream during a matrix run: after Ctrl-C (`shut`) the lines
    of other threads (a late VM worker) are dropped, so nothing prints after the
    final table."""

    def __init__(self, progress, inner):
        self.progress, self.inner, self.shut = progress, inner, False
        self.owner = threading.get_ident()

    @classmethod
    def install(cls, progress) -> "_GatedStream":
        gate = cls(progress, getattr(progress, "stream", None))
        if gate.inner is not None:
            progress.stream = gate
        return gate

    def remove(self) -> None:
        if self.inner is not None and getattr(self.progress, "stream", None) is self:
            self.progress.stream = self.inner

    def _open(self) -> bool:
        return not self.shut or threading.get_ident() == self.owner

    def write(self, text: str) -> int:
        return self.inner.write(text) if self._open() else 0

    def flush(self) -> None:
        if self._open():
            self.inner.flush()

    def isatty(self) -> bool:
        return hasattr(self.inner, "isatty") and self.inner.isatty()


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
    return _compare_groups([_group(s) for s in specs], jobs)


def _group(spec: JobSpec) -> dict:
    """What run.json records of a job so that merge can compare across shards."""
    return {"base": spec.base_only, "profile": spec.profile, "toolchain": spec.toolchain}


def _compare_groups(groups: list[dict], jobs: list[JobSummary]):
    base = {(g["profile"], g["toolchain"]): j for g, j in zip(groups, jobs) if g["base"]}
    out = []
    for g, j in zip(groups, jobs):
        b = base.get((g["profile"], g["toolchain"]))
        if not g["base"] and b is not None:
            out.append(compare_jobs(b, j))
    return out


def write_combined(run_dir: Path, jobs: list[JobSummary], table: str, comparisons,
                   specs: list[JobSpec] | None = None, meta: dict | None = None,
                   groups: list[dict] | None = None) -> None:
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
                                                    extra, where=run_dir))
    if groups is None:
        groups = [_group(s) for s in specs] if specs is not None else [{} for _ in jobs]
    write_json(run_dir / "run.json", {
        **(meta or {}),
        "jobs": [{"job": j.job, "exit_code": j.exit_code, "state": j.state, **g}
                 for j, g in zip(jobs, groups)],
        "comparisons": [c.to_dict() for c in comparisons]})
    write_text(run_dir / "summary.txt", table + "\n")


def merge_runs(dirs: list[Path], out: Path) -> int:
    """Join the jobs of several (shard) run dirs into one combined report in `out`:
    every job, the comparisons of each series job with its base job (whichever
    shard ran it), the combined KTAP, JUnit and HTML. Shards that carry a plan
    (run.json "plan") must all be of one plan, each exactly once, none missing."""
    runs = [_load_run(Path(d)) for d in dirs]
    plan = _check_shards(runs)
    jobs: list[JobSummary] = []
    groups: list[dict] = []
    seen: dict[str, Path] = {}
    short: list[dict] = []          # shards whose results lack planned jobs (interrupted)
    for d, info in runs:
        recorded = {r.get("job"): r for r in info.get("jobs", [])}
        found = find_jobs(d)
        planned = (info.get("plan") or {}).get("jobs")
        if planned is not None and len(found) < len(planned):
            short.append({"shard": info["plan"]["shard"], "dir": str(d),
                          "planned": len(planned), "results": len(found)})
        for p in found:
            j = load_job(p)
            if j.job in seen:
                raise InputError(f"job {j.job} appears in more than one shard "
                                 f"(also in {seen[j.job]})", path=str(p / "summary.json"),
                                 line=1)
            seen[j.job] = p
            jobs.append(j)
            groups.append({k: recorded.get(j.job, {}).get(k)
                           for k in ("base", "profile", "toolchain")})
    if not jobs and not short:
        raise InputError("no job results in the given dirs", path=str(dirs[0]))
    comparisons = _compare_groups(groups, jobs) if all(g["base"] is not None
                                                       for g in groups) else []
    table = matrix_table(jobs)
    meta = {"merged": [str(d) for d in dirs]}
    if plan is not None:
        meta["plan"] = {"id": plan["id"], "shards": plan["shards"], "matrix": plan.get("matrix")}
    if short:
        meta["incomplete_shards"] = short
    write_combined(Path(out), jobs, table, comparisons, meta=meta, groups=groups)
    print(table)
    for c in comparisons:
        print(format_comparison(c, most=20))
    for s in short:
        print(f"shard {s['shard']} ({s['dir']}): {s['planned'] - s['results']} of its "
              f"{s['planned']} planned job(s) have no results (interrupted?)")
    codes = [j.exit_code if j.exit_code is not None else EXIT_INFRA for j in jobs]
    codes += [EXIT_INFRA] * len(short)
    if any(c.regressed for c in comparisons):
        codes.append(EXIT_TESTS_FAILED)
    return _exit_code(codes)


def _load_run(d: Path) -> tuple[Path, dict]:
    if not d.is_dir():
        raise InputError("no such shard results directory", path=str(d))
    f = d / "run.json"
    if not f.is_file():
        return d, {}
    try:
        info = read_json(f)
    except ValueError as e:
        raise InputError(f"unreadable run.json: {e}", path=str(f), line=1) from e
    _check_run_shape(info, f)
    return d, info


def _check_run_shape(info, f: Path) -> None:
    """A run.json merge can read: an object, its jobs objects, its plan (if any) with
    an id, a shard label, a 0-based index and a shard count."""
    if not isinstance(info, dict):
        raise InputError("run.json is not an object", path=str(f), line=1)
    jobs = info.get("jobs", [])
    if not isinstance(jobs, list) or not all(isinstance(j, dict) for j in jobs):
        raise InputError("run.json 'jobs' is not a list of objects", path=str(f), line=1)
    plan = info.get("plan")
    if plan is None:
        return
    ok = isinstance(plan, dict) and isinstance(plan.get("id"), str) and \
        isinstance(plan.get("shard"), str) and isinstance(plan.get("shards"), int) and \
        isinstance(plan.get("index"), int) and 0 <= plan["index"] < plan["shards"]
    if not ok:
        raise InputError("run.json 'plan' lacks an id, shard, shards or a valid index",
                         path=str(f), line=1)


def _check_shards(runs: list[tuple[Path, dict]]) -> dict | None:
    """The plan all shards share, or None when none carries one (plain runs)."""
    planned = [(d, info["plan"]) for d, info in runs if info.get("plan")]
    if not planned:
        return None
    if len(planned) != len(runs):
        d = next(d for d, info in runs if not info.get("plan"))
        raise InputError("not a shard of a plan (its run.json has no plan id); merge the "
                         "shards of one `matrix --shard` plan only", path=str(d / "run.json"),
                         line=1)
    first_dir, first = planned[0]
    by_index: dict[int, Path] = {}
    for d, p in planned:
        if p["id"] != first["id"] or p["shards"] != first["shards"]:
            raise InputError(f"shard {p['shard']} is from another plan: plan {p['id']} of "
                             f"{p['shards']} shard(s), but {first_dir} is plan {first['id']} "
                             f"of {first['shards']}", path=str(d / "run.json"), line=1)
        if p["index"] in by_index:
            raise InputError(f"duplicate shard {p['shard']}: also in {by_index[p['index']]}",
                             path=str(d / "run.json"), line=1)
        by_index[p["index"]] = d
    missing = [f"{i + 1}/{first['shards']}" for i in range(first["shards"])
               if i not in by_index]
    if missing:
        raise InputError(f"missing shard(s) {', '.join(missing)} of plan {first['id']} "
                         f"({len(by_index)} of {first['shards']} given)",
                         path=str(first_dir / "run.json"), line=1)
    return first
