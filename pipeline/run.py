"""Run one job's stages in order; a failed stage skips the rest and sets the exit code."""
from __future__ import annotations

import contextlib
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from common.errors import EXIT_INFRA, EXIT_PASS, EXIT_TESTS_FAILED, HarnessError
from common.stage import CACHED, FAILED, OK, StageResult

from results.store import JobStore, JobSummary, new_run_id, now_iso

from .job import JobContext, JobSpec
from .reproduce import write_reproducer

StageFn = Callable[[JobContext], dict]


@dataclass
class JobOutcome:
    spec: JobSpec
    exit_code: int
    summary: JobSummary
    path: Path


def run_stage(ctx: JobContext, name: str, fn: StageFn) -> StageResult:
    """Time one stage, record it, and turn typed errors into a failed result."""
    started = ctx.progress.start(name)
    t0 = time.monotonic()
    ctx.store.record_stage(StageResult(name, "running", log=f"logs/{name}.log"))
    try:
        data = fn(ctx) or {}
    except HarnessError as e:
        res = StageResult(name, FAILED, time.monotonic() - t0, str(e), e.exit_code,
                          f"logs/{name}.log")
        ctx.progress.end(name, started, "FAILED", str(e).splitlines()[0])
        ctx.store.record_stage(res)
        return res
    status = CACHED if data.pop("cached", False) else OK
    detail = data.pop("detail", "")
    res = StageResult(name, status, time.monotonic() - t0, detail, EXIT_PASS,
                      f"logs/{name}.log", data)
    ctx.progress.end(name, started, status, detail)
    ctx.store.record_stage(res)
    return res


def tests_exit_code(store: JobStore) -> int:
    summary = store.summary()
    bad = any(t.status.is_bad for _, t in summary.tests())
    if bad or summary.splats:
        return EXIT_TESTS_FAILED
    return EXIT_PASS


def host_facts() -> dict:
    return {"host": platform.node(), "kernel": platform.release(),
            "python": platform.python_version(), "machine": platform.machine()}


def run_stages(ctx: JobContext, stages: list[tuple[str, StageFn]]) -> int:
    """Run the stages in order inside one ExitStack (the VM's teardown lives there)."""
    with contextlib.ExitStack() as stack:
        ctx.facts["stack"] = stack
        for name, fn in stages:
            res = run_stage(ctx, name, fn)
            if res.status == FAILED:
                ctx.store.skip_rest(name, f"{name} failed")
                return res.exit_code
    return tests_exit_code(ctx.store)


def run_job(spec: JobSpec, stages: list[tuple[str, StageFn]], runner, progress,
            root: Path, run_id: str | None = None, argv: list[str] | None = None) -> JobOutcome:
    run_id = run_id or new_run_id(spec.label() if spec.name else "")
    store = JobStore.create(root, run_id, spec.job_parts())
    if hasattr(runner, "cmdlog"):
        runner.cmdlog = store.path / "commands.log"
    ctx = JobContext(spec=spec, store=store, runner=runner, progress=progress)
    manifest = {"job": spec.to_dict(), "run_id": run_id, "started": now_iso(),
                "host": host_facts(), "argv": argv or []}
    store.write_manifest(manifest)
    progress.info(f"job {spec.label()} -> {store.path}")
    code, complete = EXIT_INFRA, False
    try:
        code = run_stages(ctx, stages)
        complete = True
    except KeyboardInterrupt:
        progress.info("interrupted: VM shut down, partial results kept")
        raise
    finally:
        facts = {k: v for k, v in ctx.facts.items() if k != "stack"}
        store.update_manifest(ended=now_iso(), facts=facts, exit_code=code)
        write_reproducer(store, spec, argv)
        store.finish(code, complete=complete)
        _write_outputs(store)
    return JobOutcome(spec, code, store.summary(), store.path)


def _write_outputs(store: JobStore) -> None:
    from results.report import write_outputs
    write_outputs(store.summary())
