"""The record every stage leaves behind, and the order of the pipeline's stages."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .errors import EXIT_PASS

STAGES = ["apply", "config", "build", "selftests-build", "boot", "test", "results"]

class StageStatus(StrEnum):
    """How a stage ended (a str: summary.json keeps the plain words)."""
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    CACHED = "cached"      # ok, reused from a previous run with the same key
    RUNNING = "running"
    NOT_RUN = "not-run"    # the job could not run for an expected reason


OK, FAILED, SKIPPED = StageStatus.OK, StageStatus.FAILED, StageStatus.SKIPPED
CACHED, RUNNING, NOT_RUN = StageStatus.CACHED, StageStatus.RUNNING, StageStatus.NOT_RUN


@dataclass
class StageResult:
    name: str
    status: StageStatus
    duration: float = 0.0
    detail: str = ""            # one line for the table; the error text when it failed
    exit_code: int = EXIT_PASS
    log: str | None = None      # path of the stage log, relative to the job dir
    data: dict = field(default_factory=dict)   # stage-specific facts (key, counts, ...)

    def __post_init__(self):
        self.status = StageStatus(self.status)

    @property
    def stopped(self) -> bool:
        """The job went no further than this stage (it failed, or could not run)."""
        return self.status in (StageStatus.FAILED, StageStatus.NOT_RUN)

    @property
    def ok(self) -> bool:
        return self.status in (OK, CACHED)

    def to_dict(self) -> dict:
        return {"name": self.name, "status": self.status, "duration": round(self.duration, 3),
                "detail": self.detail, "exit_code": self.exit_code, "log": self.log,
                "data": self.data}

    @classmethod
    def from_dict(cls, d: dict) -> "StageResult":
        return cls(name=d["name"], status=StageStatus(d["status"]), duration=d.get("duration", 0.0),
                   detail=d.get("detail", ""), exit_code=d.get("exit_code", 0),
                   log=d.get("log"), data=dict(d.get("data", {})))


def first_stopped(stages) -> StageResult | None:
    """The stage a job stopped at (failed or not run), or None: the one answer to
    "where did this job stop" for the run, the tables and the bisect."""
    return next((s for s in stages if s.stopped), None)


def reached(stages, state: str = "complete") -> str:
    """The stage a job reached, as every table and comparison prints it: the last
    stage that ended ok, the stage that failed ("build FAILED"), "NOT RUN", or
    where an unfinished job stopped."""
    last = "-"
    for s in stages:
        if s.status == StageStatus.FAILED:
            return f"{s.name} FAILED"
        if s.status == StageStatus.NOT_RUN:
            return "NOT RUN"
        if s.status == StageStatus.RUNNING:
            return f"{last}; stopped in {s.name} ({state})"
        if s.ok:
            last = s.name
    return last if state in ("complete", "running") else f"{last} ({state})"
