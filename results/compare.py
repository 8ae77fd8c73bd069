"""Compare two jobs: new failures, fixes, newly skipped and vanished tests, splats."""
from __future__ import annotations

from dataclasses import dataclass, field

from .model import Splat, Status, TestResult
from .store import JobSummary


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

    @property
    def regressed(self) -> bool:
        return bool(self.new_failures or self.new_splats or self.stage_regressions)

    def to_dict(self) -> dict:
        def ch(items):
            return [{"test": c.test, "before": c.before, "after": c.after} for c in items]
        return {"a": self.a, "b": self.b, "regressed": self.regressed,
                "new_failures": ch(self.new_failures), "fixes": ch(self.fixes),
                "newly_skipped": ch(self.newly_skipped), "newly_flaky": ch(self.newly_flaky),
                "vanished": ch(self.vanished), "new_tests": ch(self.new_tests),
                "stage_regressions": ch(self.stage_regressions),
                "new_splats": [s.to_dict() for s in self.new_splats],
                "gone_splats": [s.to_dict() for s in self.gone_splats]}


def leaf_statuses(job: JobSummary) -> dict[str, Status]:
    out: dict[str, Status] = {}
    for path, t in job.tests():
        if not t.subtests:
            out[path] = t.status
    return out


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


def compare_jobs(a: JobSummary, b: JobSummary) -> Comparison:
    cmp = Comparison(a.job, b.job)
    sa, sb = leaf_statuses(a), leaf_statuses(b)
    for path in sorted(set(sa) | set(sb)):
        _classify(path, sa.get(path), sb.get(path), cmp)
    fa = {s.fingerprint: s for s in a.splats}
    fb = {s.fingerprint: s for s in b.splats}
    cmp.new_splats = [s for f, s in fb.items() if f not in fa]
    cmp.gone_splats = [s for f, s in fa.items() if f not in fb]
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
    lines.append("verdict: " + ("REGRESSED" if cmp.regressed else "no regression"))
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
