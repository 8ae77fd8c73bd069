"""What makes a bisect step bad, judged from one job's summary.

    test:PATTERN     a test whose path (suite/test/subtest) ends with PATTERN is bad
    warning:REGEX    a build warning matching REGEX was printed
    splat:REGEX      a kernel splat whose kind or title matches REGEX appeared
    boot             the kernel did not boot (boot stage failed, or a panic)
    build            the kernel or selftests build failed

A stage failure that the criterion does not look at makes the step a skip: the
step could not be judged (exit 125 for `git bisect run`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from common.errors import UsageError
from results.store import JobSummary

from .core import BAD, GOOD, SKIP

KINDS = ("test", "warning", "splat", "boot", "build")
# Stages that must succeed before a criterion can be judged at all.
NEEDS = {"test": ("apply", "config", "build", "selftests-build", "boot", "test"),
         "splat": ("apply", "config", "build", "selftests-build", "boot"),
         "boot": ("apply", "config", "build"),
         "build": ("apply", "config"),
         "warning": ("apply", "config")}


# The last stage whose outcome each criterion reads: a step runs no further.
LAST_STAGE = {"test": "test", "splat": "test", "boot": "boot", "build": "selftests-build",
              "warning": "build"}


@dataclass
class Criterion:
    kind: str
    arg: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.arg}" if self.arg else self.kind

    def stages(self, stages: list) -> list:
        """The pipeline's (name, fn) stages this criterion needs, in order: a
        warning bisect step builds, and never boots."""
        names = [n for n, _ in stages]
        last = LAST_STAGE[self.kind]
        return stages[: names.index(last) + 1] if last in names else stages


def parse_criterion(text: str) -> Criterion:
    kind, sep, arg = text.partition(":")
    if kind not in KINDS:
        raise UsageError(f"unknown criterion '{text}': use one of test:NAME, warning:REGEX, "
                         "splat:REGEX, boot, build")
    if kind in ("test", "warning", "splat") and not arg:
        raise UsageError(f"criterion '{kind}' needs an argument, e.g. {kind}:path_iter/open_code")
    if kind not in ("test", "warning", "splat") and sep:
        raise UsageError(f"criterion '{text}': '{kind}' takes no argument (use '{kind}')")
    if kind in ("warning", "splat"):
        try:
            re.compile(arg)
        except re.error as e:
            raise UsageError(f"bad regular expression in criterion '{text}': {e}") from None
    return Criterion(kind, arg)


def _stage_status(job: JobSummary) -> dict[str, str]:
    return {s.name: s.status for s in job.stages}


def judge(c: Criterion, job: JobSummary, warnings: list[str] | None = None) -> tuple[str, str]:
    """(good|bad|skip, why)."""
    status = _stage_status(job)
    if c.kind == "build" and status.get("build") == "failed":
        return BAD, "kernel build failed"
    if c.kind == "build" and status.get("selftests-build") == "failed":
        return BAD, "selftests build failed"
    if c.kind == "boot" and status.get("boot") == "failed":
        return BAD, "boot failed"
    for stage in NEEDS[c.kind]:
        if status.get(stage) == "failed":
            return SKIP, f"{stage} failed, so '{c}' cannot be judged"
    return _judge_kind(c, job, warnings or [])


def _judge_kind(c: Criterion, job: JobSummary, warnings: list[str]) -> tuple[str, str]:
    if c.kind == "test":
        return _judge_test(c.arg, job)
    if c.kind == "warning":
        hits = [w for w in warnings if re.search(c.arg, w)]
        return (BAD, hits[0]) if hits else (GOOD, "no matching warning")
    if c.kind == "splat":
        hits = [s for s in job.splats if re.search(c.arg, f"{s.kind} {s.title}")]
        return (BAD, hits[0].title) if hits else (GOOD, "no matching splat")
    panics = [s for s in job.splats if s.kind == "panic"]
    return (BAD, panics[0].title) if panics else (GOOD, "booted")


def _judge_test(pattern: str, job: JobSummary) -> tuple[str, str]:
    found = [(p, t) for p, t in job.tests() if p == pattern or p.endswith("/" + pattern)]
    if not found:
        return SKIP, f"no test matching '{pattern}' ran"
    bad = [p for p, t in found if t.status.is_bad]
    if bad:
        return BAD, f"{bad[0]} failed"
    return GOOD, f"{found[0][0]} passed"


def warnings_of(job: JobSummary) -> list[str]:
    """The tree's warnings after a job's build, one line each. build/warnings.json
    holds the full set from the build dir's warning record, so a step counts the
    warning of an object it did not recompile, not only what its make printed."""
    from kbuild.build import load_warnings
    if job.path is None:
        return []
    f = Path(job.path) / "build" / "warnings.json"
    return [w.text() for w in load_warnings(f)] if f.is_file() else []
