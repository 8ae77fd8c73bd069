"""Compare two jobs: new failures, fixes, newly skipped and vanished tests, splats.

Tests are compared through each job's verdicts (results/verdicts.py), so a test
that failed on its own after its subtests passed is a new failure. Only jobs
that both reached their tests (a test stage that ended ok) have test verdicts to
compare: otherwise the comparison is `incomplete` and says which stage each job
reached; a stage that failed in B and passed in A is still a regression."""
from __future__ import annotations

from dataclasses import dataclass, field

from common.stage import reached

from .model import Splat, Status, TestResult
from .store import JobSummary
from .verdicts import job_verdicts

TESTED = ("ok", "cached")


@dataclass
class Change:
    test: str
    before: str | None
    after: str | None


@dataclass
class Comparison:
    a: str
    b: str
    new_failures: list[Change] = field(default_factory=list)
    fixes: list[Change] = field(default_factory=list)
    newly_skipped: list[Change] = field(default_factory=list)
    newly_flaky: list[Change] = field(default_factory=list)
    vanished: list[Change] = field(default_factory=list)
    new_tests: list[Change] = field(default_factory=list)
    new_splats: list[Splat] = field(default_factory=list)
    gone_splats: list[Splat] = field(default_factory=list)
    stage_regressions: list[Change] = field(default_factory=list)
    incomplete: list[str] = field(default_factory=list)   # "B: reached build FAILED"

    @property
    def regressed(self) -> bool:
        return bool(self.new_failures or self.new_splats or self.stage_regressions)

    @property
    def verdict(self) -> str:
        if self.regressed:
            return "regressed"
        return "incomplete" if self.incomplete else "no regression"

    def to_dict(self) -> dict:
        def ch(items):
            return [{"test": c.test, "before": c.before, "after": c.after} for c in items]
        return {"a": self.a, "b": self.b, "regressed": self.regressed,
                "verdict": self.verdict, "incomplete": self.incomplete,
                "new_failures": ch(self.new_failures), "fixes": ch(self.fixes),
                "newly_skipped": ch(self.newly_skipped), "newly_flaky": ch(self.newly_flaky),
                "vanished": ch(self.vanished), "new_tests": ch(self.new_tests),
                "stage_regressions": ch(self.stage_regressions),
                "new_splats": [s.to_dict() for s in self.new_splats],
                "gone_splats": [s.to_dict() for s in self.gone_splats]}


def verdict_statuses(job: JobSummary) -> dict[str, Status]:
    """suite/test path -> status of each test verdict (splats are compared apart)."""
    return {v.path: v.status for v in job_verdicts(job) if v.splat is None}


def _fill_parents(statuses: dict[str, Status], other: dict[str, Status],
                  job: JobSummary) -> None:
    """A parent with a verdict on one side only: on the other side its status is
    the test's own, not "absent" (it passed there with its subtests)."""
    tests = dict(job.tests())
    for path in other:
        if path not in statuses and path in tests and tests[path].subtests:
            statuses[path] = tests[path].status


def reached_tests(job: JobSummary) -> bool:
    return any(s.name == "test" and s.status in TESTED for s in job.stages)


def reached_text(job: JobSummary) -> str:
    """The stage a job reached, as the tables print it (common.stage.reached)."""
    return reached(job.stages, job.state)


def _classify(path: str, a: Status | None, b: Status | None, cmp: Comparison) -> None:
    if b is None:
        cmp.vanished.append(Change(path, a.value, None))
        return
    change = Change(path, a.value if a else None, b.value)
    if a is None:
        cmp.new_tests.append(change)
        if b.is_bad:
            cmp.new_failures.append(change)
    elif b.is_bad and not a.is_bad:
        cmp.new_failures.append(change)
    elif a.is_bad and not b.is_bad:
        cmp.fixes.append(change)
    elif b == Status.SKIP and a != Status.SKIP:
        cmp.newly_skipped.append(change)
    elif b == Status.FLAKY and a != Status.FLAKY:
        cmp.newly_flaky.append(change)


def _compare_tests(a: JobSummary, b: JobSummary, cmp: Comparison) -> None:
    sa, sb = verdict_statuses(a), verdict_statuses(b)
    _fill_parents(sa, sb, a)
    _fill_parents(sb, sa, b)
    for path in sorted(set(sa) | set(sb)):
        _classify(path, sa.get(path), sb.get(path), cmp)
    fa = {s.fingerprint: s for s in a.splats}
    fb = {s.fingerprint: s for s in b.splats}
    cmp.new_splats = [s for f, s in fb.items() if f not in fa and not s.known]
    cmp.gone_splats = [s for f, s in fa.items() if f not in fb]


def compare_jobs(a: JobSummary, b: JobSummary) -> Comparison:
    cmp = Comparison(a.job, b.job)
    cmp.incomplete = [f"{side}: {j.job} reached {reached_text(j)}"
                      for side, j in (("A", a), ("B", b)) if not reached_tests(j)]
    if not cmp.incomplete:
        _compare_tests(a, b, cmp)
    stages_a = {s.name: s for s in a.stages}
    for s in b.stages:
        before = stages_a.get(s.name)
        if s.status == "failed" and before is not None and before.ok:
            cmp.stage_regressions.append(Change(s.name, before.status, s.status))
    return cmp


def format_comparison(cmp: Comparison, most: int | None = None) -> str:
    """The comparison as text; `most` caps each section's list (the rest counted)."""
    lines = [f"compare {cmp.a} -> {cmp.b}"]
    sections = [("new failures", cmp.new_failures), ("fixed", cmp.fixes),
                ("newly skipped", cmp.newly_skipped), ("newly flaky", cmp.newly_flaky),
                ("vanished", cmp.vanished), ("new tests", cmp.new_tests),
                ("stage regressions", cmp.stage_regressions)]
    for title, items in sections:
        if items:
            lines.append(f"{title} ({len(items)}):")
            shown = items if most is None else items[:most]
            lines += [f"  {c.test}: {c.before or '-'} -> {c.after or '-'}" for c in shown]
            if len(shown) < len(items):
                lines.append(f"  ... and {len(items) - len(shown)} more")
    for title, splats in (("new splats", cmp.new_splats), ("gone splats", cmp.gone_splats)):
        if splats:
            lines.append(f"{title} ({len(splats)}):")
            lines += [f"  [{s.fingerprint[:12]}] {s.kind}: {s.title}" for s in splats]
    lines += [f"no test verdicts: {why}" for why in cmp.incomplete]
    lines.append("verdict: " + {"regressed": "REGRESSED", "incomplete": "incomplete"}
                 .get(cmp.verdict, cmp.verdict))
    return "\n".join(lines)


def worst(tests: list[TestResult]) -> Status:
    """The status a parent shows for these children."""
    statuses = [t.status for t in tests]
    if not statuses:
        return Status.SKIP
    for s in (Status.ERROR, Status.TIMEOUT, Status.MISSING, Status.FAIL, Status.FLAKY):
        if s in statuses:
            return s
    if all(s == Status.SKIP for s in statuses):
        return Status.SKIP
    return Status.PASS
