"""Drive the harness through its CLI, as a user would: `harness.py ...` and a job's
reproduce.sh, as subprocesses through a Runner, with the bench's own results root
(HARNESS_RESULTS) and, for the cold measurements, its own cache (HARNESS_CACHE)."""
from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InfraError
from common.fsutil import REPO_ROOT, read_json

HARNESS = REPO_ROOT / "harness.py"
RESULTS_RE = re.compile(r"^results: (\S.*)$", re.M)
TIMEOUT = 3 * 3600


@dataclass
class Env:
    """Where the harness keeps its results and caches for one call."""

    results: Path
    cache: Path | None = None       # None: the user's cache (HARNESS_CACHE as set, or ~/.cache)
    extra: dict[str, str] = field(default_factory=dict)

    def vars(self) -> dict[str, str]:
        env = {"HARNESS_RESULTS": str(self.results)}
        if self.cache is not None:
            env["HARNESS_CACHE"] = str(self.cache)
        return {**env, **self.extra}


@dataclass
class Call:
    argv: list[str]
    returncode: int
    wall: float
    output: str
    log: Path


@dataclass
class JobRun:
    """One job as the harness left it: its results dir and what summary.json says."""

    call: Call
    path: Path
    summary: dict = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)

    @property
    def wall(self) -> float:
        return self.call.wall

    def stages(self) -> list[dict]:
        return list(self.summary.get("stages", []))

    def stage(self, name: str) -> dict | None:
        return next((s for s in self.stages() if s.get("name") == name), None)

    def stage_statuses(self) -> dict[str, str]:
        return {s["name"]: s["status"] for s in self.stages()}

    def accel(self) -> tuple[str | None, str | None]:
        vm = (self.manifest.get("facts") or {}).get("vm") or {}
        return vm.get("accel"), vm.get("probe")


def call(runner, argv: list[str], env: Env, log: Path, timeout: float = TIMEOUT) -> Call:
    """Run argv in the repository root; wall time measured around the process."""
    t = time.monotonic()
    res = runner.run(argv, cwd=REPO_ROOT, env=env.vars(), log=log, timeout=timeout)
    wall = time.monotonic() - t
    return Call([str(a) for a in argv], res.returncode, wall, res.stdout + res.stderr, log)


def harness(runner, args: list[str], env: Env, log: Path, timeout: float = TIMEOUT) -> Call:
    return call(runner, [sys.executable, str(HARNESS), *args], env, log, timeout)


def results_path(c: Call) -> Path:
    """The job dir a `harness.py run` (or reproduce.sh) printed last."""
    found = RESULTS_RE.findall(c.output)
    if not found:
        raise InfraError(f"no 'results:' line from {' '.join(c.argv[:4])} ... "
                         f"(exit {c.returncode}; log: {c.log})")
    return Path(found[-1].strip())


def load_run(c: Call) -> JobRun:
    path = results_path(c)
    try:
        summary = read_json(path / "summary.json")
        manifest = read_json(path / "manifest.json")
    except (OSError, ValueError) as e:
        raise InfraError(f"cannot read the job's summary in {path}: {e}") from e
    return JobRun(c, path, summary, manifest)


def run_job(runner, job_args: list[str], env: Env, log: Path,
            timeout: float = TIMEOUT) -> JobRun:
    """`harness.py run JOB_ARGS`; the job must end with every stage ok or cached."""
    run = load_run(harness(runner, ["run", *job_args], env, log, timeout))
    require_ok(run)
    return run


def venv_path() -> str:
    """PATH with this Python's bin dir first, as in a shell with the venv activated:
    reproduce.sh runs `./harness.py`, whose `#!/usr/bin/env python3` needs the
    venv's python3 (paramiko and the rest are installed only there)."""
    return os.pathsep.join([str(Path(sys.executable).parent),
                            os.environ.get("PATH", "/usr/bin:/bin")])


def run_reproducer(runner, job: JobRun, env: Env, log: Path,
                   timeout: float = TIMEOUT) -> JobRun:
    """The job again, from its own reproduce.sh, in a venv-activated environment."""
    env = Env(env.results, env.cache, {"PATH": venv_path()})
    run = load_run(call(runner, ["bash", str(job.path / "reproduce.sh")], env, log, timeout))
    require_ok(run)
    return run


def require_ok(run: JobRun) -> None:
    bad = [f"{s['name']} {s['status']}" for s in run.stages()
           if s.get("status") not in ("ok", "cached")]
    if run.call.returncode != 0 or bad:
        raise InfraError(f"job {run.path} ended with exit {run.call.returncode}"
                         + (f" ({', '.join(bad)})" if bad else "")
                         + f"; log: {run.call.log}")
