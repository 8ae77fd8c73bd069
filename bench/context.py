"""What every measurement shares: the runner, the bench's output dir, the two
harness environments (private cold cache, the user's warm cache), progress lines
with the elapsed time, and the jobs run so far."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from common.progress import fmt_secs

from .driver import Env, JobRun

TREE = "debian-6.12"
PROFILE = "bench"
SUITE = "tap-smoke"


class Steps:
    """One line per step: elapsed time since the bench started, the step, its time."""

    def __init__(self, stream=None, clock=time.monotonic):
        self.stream = stream or sys.stdout
        self.clock = clock
        self.t0 = clock()
        self.done: list[dict] = []

    def line(self, text: str) -> None:
        self.stream.write(f"[bench +{fmt_secs(self.clock() - self.t0)}] {text}\n")
        self.stream.flush()

    @contextmanager
    def step(self, name: str):
        t = self.clock()
        self.line(f"{name} ...")
        try:
            yield
        except BaseException as e:
            took = self.clock() - t
            self.done.append({"step": name, "seconds": round(took, 3), "ok": False})
            self.line(f"{name}: FAILED after {fmt_secs(took)}: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
            raise
        took = self.clock() - t
        self.done.append({"step": name, "seconds": round(took, 3), "ok": True})
        self.line(f"{name}: done in {fmt_secs(took)}")


@dataclass
class Context:
    runner: object
    out: Path
    steps: Steps
    repeat: int = 3
    jobs: list[JobRun] = field(default_factory=list)
    commit: str | None = None       # the harness commit when the bench started
    _n: int = 0

    @property
    def private(self) -> Env:
        """Results under out/results, caches under out/cache (emptied for cold runs)."""
        return Env(results=self.out / "results", cache=self.out / "cache")

    @property
    def user(self) -> Env:
        """Results under out/results, the user's own (warm) caches."""
        return Env(results=self.out / "results", cache=None)

    def log(self, name: str) -> Path:
        self._n += 1
        path = self.out / "logs" / f"{self._n:02d}-{name}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            path.unlink()
        return path

    def keep(self, run: JobRun) -> JobRun:
        self.jobs.append(run)
        return run


def job_args(series: str, *extra: str) -> list[str]:
    """A bench job on the bench profile with the tap-smoke suite."""
    return [series, "--tree", TREE, "--profile", PROFILE, "--suite", SUITE, *extra]
