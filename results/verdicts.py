"""What a job's results say, decided in one place. Every output (counts, KTAP,
JUnit, HTML, text, compare, bisect, the exit code) reads its verdicts from here.

A leaf test gives one verdict, its status. A test with subtests gives one of its
own only when it failed (or was flaky) on its own: its status is bad while none
of its subtests is (test_progs prints such a test when it fails after its
subtests passed, e.g. in cleanup). A parent whose subtests failed is counted
through them, so every failure counts once.

A suite whose log gave no result, or was incomplete (truncated, bailed out,
cut at a parser cap) while none of its tests is bad, gives an ERROR verdict
`<suite>/results`: it never passes.

Each splat gives one verdict: FAIL for a new splat, XFAIL for one the tree's
splat list knows (reported, but it does not fail the job).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .model import (Splat, Status, TestResult, Verdict, counts_of, notable,  # noqa: F401
                    own_failure, test_verdicts)

if TYPE_CHECKING:
    from .store import JobSummary, SuiteRecord

JOB_SPLATS = "splats"   # the pseudo-suite of splats found outside any suite
SUITE_LOG = "results"   # the pseudo-test of a suite whose log gave no or partial results


def group_durations(rec: "SuiteRecord") -> dict[str, float]:
    """Top-level test -> the time the harness measured for its group, for groups
    that ran that test alone (the runner prints no time per test)."""
    out: dict[str, float] = {}
    for g in rec.groups:
        if len(g.tests) == 1 and g.retry_of is None:
            out.setdefault(g.tests[0], g.duration)
    return out


def log_verdict(rec: "SuiteRecord", verdicts: list[Verdict]) -> Verdict | None:
    """An ERROR verdict `<suite>/results` for a suite whose log gave no result,
    or was incomplete while none of its tests is bad: such a suite never passes."""
    if rec.parsed.tests and (rec.parsed.complete or any(v.status.is_bad for v in verdicts)):
        return None
    why = "no results" if not rec.parsed.tests else "incomplete log"
    notes = "; ".join(rec.parsed.notes[-3:])
    return Verdict(f"{rec.name}/{SUITE_LOG}", Status.ERROR, list(rec.parsed.notes),
                   f"{why}: {notes}" if notes else why)


def suite_verdicts(rec: "SuiteRecord") -> list[Verdict]:
    verdicts = test_verdicts(rec.parsed.tests, rec.name)
    measured = group_durations(rec)
    for v in verdicts:
        top = v.path[len(rec.name) + 1:]
        if v.duration is None and top in measured:
            v.duration = measured[top]
    bad_log = log_verdict(rec, verdicts)
    return verdicts + ([bad_log] if bad_log else [])


def splat_suite(job: "JobSummary", sp: Splat) -> str:
    """The suite whose run found this splat (JOB_SPLATS when none did)."""
    for rec in job.suites:
        if any(x.fingerprint == sp.fingerprint for x in rec.parsed.splats):
            return rec.name
    return JOB_SPLATS


def running_path(job: "JobSummary", suite: str, sp: Splat) -> str | None:
    """suite/test of the test that was running when the splat appeared, if it is
    a test of that suite."""
    if not sp.test:
        return None
    path = f"{suite}/{sp.test}"
    for rec in job.suites:
        if rec.name == suite and any(p == path for t in rec.parsed.tests
                                     for p, _ in t.walk(suite)):
            return path
    return None


def splat_verdict(job: "JobSummary", sp: Splat) -> Verdict:
    suite = splat_suite(job, sp)
    status = Status.XFAIL if sp.known else Status.FAIL
    reason = f"known splat: {sp.known}" if sp.known else f"new splat: {sp.kind}: {sp.title}"
    return Verdict(f"{suite}/splat-{sp.fingerprint[:12]}", status, list(sp.excerpt), reason,
                   splat=sp, during=running_path(job, suite, sp))


def job_verdicts(job: "JobSummary") -> list[Verdict]:
    """Every verdict of the job: its tests' (suite by suite), then its splats'."""
    out = [v for rec in job.suites for v in suite_verdicts(rec)]
    return out + [splat_verdict(job, sp) for sp in job.splats]


def job_counts(job: "JobSummary") -> dict[str, int]:
    return counts_of(job_verdicts(job))


def job_fails(job: "JobSummary") -> bool:
    """Whether the job's results fail it: a bad test verdict (a failing parent
    included) or a splat the tree's splat list does not know."""
    return any(v.status.is_bad for v in job_verdicts(job))


def failing(job: "JobSummary") -> list[Verdict]:
    return [v for v in job_verdicts(job) if v.status.is_bad]
