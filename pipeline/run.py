"""Run one job's stages in order; a failed stage skips the rest and sets the exit code."""
from __future__ import annotations

import contextlib
import json
import platform
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from common.errors import EXIT_INFRA, EXIT_PASS, EXIT_TESTS_FAILED, HarnessError, NotRun
from common.stage import CACHED, FAILED, NOT_RUN, OK, StageResult, first_stopped

from results.store import JobStore, JobSummary, new_run_id, now_iso, write_text

from .check import JobPlan, check_job, check_vm_tools
from .context import JobContext, StageReport
from .job import JobSpec
from .reproduce import write_reproducer

StageFn = Callable[[JobContext], StageReport]


@dataclass
class JobOutcome:
    """How a job ended, with the typed results its stages left (for bisect, repro
    and revisions: they need not read back what this process just wrote)."""
    spec: JobSpec
    exit_code: int
    summary: JobSummary
    path: Path
    apply: object | None = None       # patches.apply.ApplyResult
    build: object | None = None       # kbuild.build.BuildResult
    worktree: Path | None = None


def _commands_so_far(ctx: JobContext) -> int:
    log = ctx.store.path / "commands.log"
    return len(log.read_text().splitlines()) if log.exists() else 0


def write_stage_log(ctx: JobContext, res: StageResult, first_cmd: int) -> None:
    """logs/<stage>.log: the commands the stage ran and how it ended."""
    log = ctx.store.path / "commands.log"
    cmds = log.read_text().splitlines()[first_cmd:] if log.exists() else []
    text = [f"stage {res.name}: {res.status} in {res.duration:.1f}s"]
    text += [f"+ {c}" for c in cmds]
    if res.detail:
        text += ["", res.detail]
    if res.data:
        text += ["", json.dumps(res.data, indent=2, sort_keys=True, default=str)]
    write_text(ctx.store.stage_log(res.name), "\n".join(text) + "\n")


def run_stage(ctx: JobContext, name: str, fn: StageFn) -> StageResult:
    """Time one stage, record it, and turn typed errors into a failed result."""
    first_cmd = _commands_so_far(ctx)
    res = _run_stage(ctx, name, fn)
    write_stage_log(ctx, res, first_cmd)
    return res


def _run_stage(ctx: JobContext, name: str, fn: StageFn) -> StageResult:
    started = ctx.progress.start(name)
    t0 = time.monotonic()
    ctx.store.record_stage(StageResult(name, "running", log=f"logs/{name}.log"))
    try:
        rep = fn(ctx) or StageReport()
    except HarnessError as e:
        status = NOT_RUN if isinstance(e, NotRun) else FAILED
        return _ended(ctx, name, started, StageResult(
            name, status, time.monotonic() - t0, str(e), e.exit_code, f"logs/{name}.log"))
    except Exception as e:  # noqa: BLE001 - a harness bug: infrastructure, never a verdict
        tb = keep_traceback(ctx.store.path / "logs" / f"{name}.traceback.txt")
        return _ended(ctx, name, started, StageResult(
            name, FAILED, time.monotonic() - t0,
            f"harness error (a bug, not a test verdict): {type(e).__name__}: {e}\n"
            f"traceback: {tb}", EXIT_INFRA, f"logs/{name}.log"))
    status = CACHED if rep.cached else OK
    return _ended(ctx, name, started, StageResult(
        name, status, time.monotonic() - t0, rep.detail, EXIT_PASS, f"logs/{name}.log",
        dict(rep.data)))


def _ended(ctx: JobContext, name: str, started, res: StageResult) -> StageResult:
    word = res.status.upper() if res.stopped else res.status
    ctx.progress.end(name, started, word, (res.detail.splitlines() or [""])[0])
    ctx.store.record_stage(res)
    return res


def keep_traceback(path: Path) -> Path:
    """Write the traceback being handled to `path` (the job's logs)."""
    write_text(path, traceback.format_exc())
    return path


def tests_exit_code(store: JobStore) -> int:
    """1 when the job's verdicts fail it (results.verdicts decides, for every
    output alike: failing parents and new splats included), else 0."""
    from results.verdicts import job_fails
    return EXIT_TESTS_FAILED if job_fails(store.summary()) else EXIT_PASS


def host_facts() -> dict:
    return {"host": platform.node(), "kernel": platform.release(),
            "python": platform.python_version(), "machine": platform.machine()}


def run_stages(ctx: JobContext, stages: list[tuple[str, StageFn]]) -> int:
    """Run the stages in order inside one ExitStack (the VM's teardown lives there).
    A job whose earlier stages failed runs nothing more."""
    stopped = first_stopped(ctx.store.stages.values())
    if stopped is not None:
        return stopped.exit_code
    from kbuild.cache import job_scope
    with contextlib.ExitStack() as stack:
        ctx.stack = stack
        stack.enter_context(job_scope())    # the builds this job uses stay in the cache
        try:
            for name, fn in stages:
                res = run_stage(ctx, name, fn)
                if res.stopped:
                    ctx.store.skip_rest(name, f"{name} {res.status}")
                    keep_cache_size(ctx)
                    return res.exit_code
            keep_cache_size(ctx)
        finally:
            ctx.vm, ctx.stack = None, None
    return tests_exit_code(ctx.store)


def keep_cache_size(ctx: JobContext) -> None:
    """After a job that stored a build: evict least recently used finished builds,
    worktrees and family build dirs (never one in use) until the cache is within its
    size; say what went."""
    fresh = [b for b in (ctx.build, ctx.selftests, ctx.kselftest)
             if getattr(b, "cached", True) is False]
    if not fresh:
        return
    from kbuild.cache import gc, human, max_size, removed_text
    res = gc(max_size(ctx.spec.cache_max_size))
    if res.removed:
        ctx.progress.info(f"[cache] {removed_text(res.removed)} evicted: "
                          f"{human(res.before)} -> {human(res.after)} "
                          f"(limit {human(res.limit)})")


def open_job(plan: JobPlan, runner, progress, root: Path, run_id: str,
             argv: list[str] | None = None) -> JobContext:
    """Create the job's results dir (named after the resolved revision) and its
    manifest; the context the stages share. A plan that cannot run records why."""
    spec = plan.spec
    store = JobStore.create(root, run_id, spec.job_parts())
    _use_splat_list(store, spec.tree, progress)
    if hasattr(runner, "for_log"):
        runner = runner.for_log(store.path / "commands.log")
    ctx = JobContext(plan=plan, store=store, runner=runner, progress=progress)
    store.write_manifest({"job": spec.to_dict(), "run_id": run_id, "started": now_iso(),
                          "host": host_facts(), "argv": argv or []})
    progress.info(f"job {spec.label()} -> {store.path}")
    for note in plan.notes:
        progress.info(note)
    if plan.not_run:
        store.record_stage(StageResult("apply", NOT_RUN, 0.0, plan.not_run, EXIT_PASS))
        store.skip_rest("apply", "apply not-run")
        progress.info(plan.not_run)
    return ctx


def _use_splat_list(store: JobStore, tree: str, progress) -> None:
    """The tree's known splats are reported but do not fail the job."""
    from results.splatlist import expired, tree_splat_list
    entries = tree_splat_list(tree)
    store.use_splat_list(entries)
    for w in expired(entries):
        progress.info(w)


def byhand_inputs(ctx: JobContext):
    """What reproduce.sh --by-hand is made from: the typed results and requests of
    the stages that ran."""
    from .byhand import ByHandInputs
    spec = ctx.spec
    return ByHandInputs(
        label=spec.label(), apply=ctx.apply,
        checkout=Path(spec.worktree).resolve() if spec.worktree else None,
        checkout_head=ctx.facts.get("apply", {}).get("head"),
        config=ctx.config, build=ctx.build_request,
        selftests=ctx.selftests_request, kselftest=ctx.kselftest_request,
        vm=ctx.vm_request, accel=ctx.facts.get("vm", {}).get("accel", spec.accel),
        suites=ctx.suites)


def close_job(ctx: JobContext, code: int, complete: bool, argv=None) -> JobOutcome:
    """Manifest facts, reproduce.sh, final summary and the output files. Runs in
    `finally`, so a killed job still leaves a readable, 'incomplete' result."""
    store = ctx.store
    store.update_manifest(ended=now_iso(), facts=dict(ctx.facts), exit_code=code,
                          versions=tool_versions(ctx.runner))
    write_reproducer(store, ctx.spec, argv, byhand_inputs(ctx))
    store.finish(code, complete=complete)
    _write_outputs(store)
    return JobOutcome(ctx.spec, code, store.summary(), store.path, ctx.apply, ctx.build,
                      ctx.worktree)


def run_job(spec: JobSpec | JobPlan, stages: list[tuple[str, StageFn]], runner, progress,
            root: Path, run_id: str | None = None, argv: list[str] | None = None) -> JobOutcome:
    """Check the job (every input error at once, before any work), then run it."""
    plan = spec if isinstance(spec, JobPlan) else check_job(spec)
    if any(name == "boot" for name, _ in stages):
        check_vm_tools()
    ctx = open_job(plan, runner, progress, root, run_id or new_run_id(), argv)
    code, complete = EXIT_INFRA, False
    try:
        code = run_stages(ctx, stages)
        complete = True
    except KeyboardInterrupt:
        progress.info("interrupted: VM shut down, partial results kept")
        raise
    finally:
        outcome = close_job(ctx, code, complete, argv)
    return outcome


def tool_versions(runner) -> dict:
    """Versions for the manifest: toolchain, qemu, virtme-ng (best effort)."""
    from importlib import metadata
    out = {}
    for name, argv in (("gcc", ["gcc", "--version"]), ("clang", ["clang-19", "--version"]),
                       ("qemu", ["qemu-system-x86_64", "--version"]),
                       ("pahole", ["pahole", "--version"])):
        try:
            res = runner.run(argv, timeout=20)
            out[name] = (res.stdout or res.stderr).splitlines()[0] if res.ok else None
        except Exception:  # noqa: BLE001 - a missing tool is recorded as None
            out[name] = None
    try:
        out["virtme-ng"] = metadata.version("virtme-ng")
    except metadata.PackageNotFoundError:
        out["virtme-ng"] = None
    return out


def _write_outputs(store: JobStore) -> None:
    from results.report import write_outputs
    write_outputs(store.summary())
