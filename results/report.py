"""Text and HTML reports over one or more jobs, and the per-job output files."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import jinja2

from common.progress import fmt_secs
from common.stage import first_stopped
from common.stage import reached as stage_reached

from . import junit
from .compare import worst
from .ktap import emit_ktap
from .model import Status, TestResult
from .store import JobSummary, SuiteRecord, write_text
from .verdicts import JOB_SPLATS, Verdict, group_durations, job_verdicts

TEMPLATES = Path(__file__).resolve().parent / "templates"
COUNT_KEYS = ["pass", "fail", "skip", "flaky", "timeout", "error", "missing", "xfail", "todo"]


def _with_durations(rec: SuiteRecord) -> list[TestResult]:
    """Copies of the suite's top-level tests, each with the group time the harness
    measured when the runner gave it none."""
    measured = group_durations(rec)
    return [replace(t, duration=measured[t.name])
            if t.duration is None and t.name in measured else t for t in rec.parsed.tests]


def _splat_test(v: Verdict) -> TestResult:
    return TestResult(name=v.path.rsplit("/", 1)[1], status=v.status, reason=v.reason,
                      log=v.log[:20])


def suite_tree(job: JobSummary) -> list[TestResult]:
    """One top-level test per suite, its tests as subtests and a `splat-<fp>` test
    per splat found while it ran (what results.tap holds); splats found outside
    any suite under a last `splats` entry."""
    splats = [v for v in job_verdicts(job) if v.splat is not None]
    tree = []
    for rec in job.suites:
        subs = _with_durations(rec) + [_splat_test(v) for v in splats
                                       if v.path.startswith(rec.name + "/")]
        tree.append(TestResult(name=rec.name, status=worst(subs), subtests=subs,
                               duration=rec.duration))
    loose = [_splat_test(v) for v in splats if v.path.startswith(JOB_SPLATS + "/")]
    if loose:
        tree.append(TestResult(name=JOB_SPLATS, status=worst(loose), subtests=loose))
    return tree


def splat_notes(job: JobSummary) -> dict[str, list[str]]:
    """KTAP diagnostics: each splat under the test that was running."""
    notes: dict[str, list[str]] = {}
    for v in job_verdicts(job):
        if v.splat is not None and v.during:
            sp = v.splat
            known = f" (known: {sp.known})" if sp.known else ""
            notes.setdefault(v.during, []).append(
                f"splat [{sp.fingerprint}] {sp.kind}: {sp.title}{known}")
    return notes


def job_ktap(job: JobSummary) -> str:
    return emit_ktap(suite_tree(job), notes=splat_notes(job))


def write_outputs(job: JobSummary) -> None:
    """results.tap, junit.xml and report.html for one job dir."""
    assert job.path is not None
    write_text(job.path / "results.tap", job_ktap(job))
    write_text(job.path / "junit.xml", junit.render_jobs([("", job)]))
    write_text(job.path / "report.html", render_html([job], title=f"kharness: {job.job}"))


def stage_line(job: JobSummary) -> str:
    parts = []
    for s in job.stages:
        took = f" {fmt_secs(s.duration)}" if s.duration else ""
        parts.append(f"{s.name}:{s.status}{took}")
    return " ".join(parts)


def reached(job: JobSummary) -> str:
    """The stage the job reached (common.stage.reached)."""
    return stage_reached(job.stages, job.state)


def bad_count(counts: dict[str, int]) -> int:
    return sum(counts.get(k, 0) for k in ("fail", "timeout", "error", "missing"))


def render_table(rows: list[list[str]]) -> str:
    """Left-aligned columns with a rule under the header row."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def splat_cell(job: JobSummary) -> str:
    """The splat count, and how many of them the tree's splat list knows."""
    known = sum(1 for sp in job.splats if sp.known)
    return f"{len(job.splats)} ({known} known)" if known else str(len(job.splats))


def text_table(jobs: list[JobSummary]) -> str:
    """The one table of jobs (run, matrix, merge, report): stage reached, verdict
    counts, splats, new warnings, time, exit code, and where it stopped."""
    rows = [["job", "reached", "pass", "fail", "skip", "flaky", "splats", "new warn", "time",
             "exit", "note"]]
    for j in jobs:
        c = j.counts()
        stop = first_stopped(j.stages)
        note = stop.detail.splitlines()[0].replace("NOT RUN: ", "") if stop and stop.detail \
            else ("" if j.state == "complete" else j.state)
        rows.append([j.job, reached(j), str(c.get("pass", 0) + c.get("xfail", 0)),
                     str(bad_count(c)), str(c.get("skip", 0)), str(c.get("flaky", 0)),
                     splat_cell(j), new_warn_cell(j),
                     fmt_secs(sum(s.duration for s in j.stages)),
                     str(j.exit_code if j.exit_code is not None else "-"), note[:70]])
    return render_table(rows)


def new_warn_cell(job: JobSummary) -> str:
    """How many warnings the build added against the base tree; '-' when it was not
    compared with one."""
    build = next((s for s in job.stages if s.name == "build"), None)
    return str(build.data["new_warnings"]) if build and "new_warnings" in build.data else "-"


def _test_line(v: Verdict) -> str:
    if v.status == Status.FLAKY:
        runs = ",".join(v.test.runs) if v.test is not None else ""
        return f"  FLAKY: {v.path} (runs: {runs})"
    own = " (failed on its own; its subtests passed)" if v.test and v.test.subtests else ""
    return f"  {v.status.value.upper()}: {v.path}{own}"


def new_warnings(job: JobSummary) -> list[str]:
    """The warnings the job's build added against the base tree (robot style)."""
    build = next((s for s in job.stages if s.name == "build"), None)
    return list(build.data.get("new", [])) if build is not None else []


def text_report(jobs: list[JobSummary]) -> str:
    lines = [text_table(jobs), ""]
    for j in jobs:
        lines.append(f"{j.job}: {stage_line(j)}")
        for s in j.stages:
            if s.status == "failed" and s.detail:
                lines.append(f"  {s.name} failed: {s.detail.splitlines()[0]}")
        for v in job_verdicts(j):
            if v.splat is None and (v.status.is_bad or v.status == Status.FLAKY):
                lines.append(_test_line(v))
        lines += [f"  >> {w}" for w in new_warnings(j)]
        for sp in j.splats:
            where = f" during {sp.test}" if sp.test else ""
            known = f" (known: {sp.known})" if sp.known else ""
            lines.append(f"  SPLAT [{sp.fingerprint[:12]}] {sp.kind}: {sp.title}{where}{known}")
    return "\n".join(lines).rstrip() + "\n"


def _rows(job: JobSummary) -> list[dict]:
    rows = []
    for v in job_verdicts(job):
        if v.splat is not None:
            continue
        shown = v.status.is_bad or v.status == Status.FLAKY
        rows.append({"path": v.path, "status": v.status.value, "reason": v.reason,
                     "log": "\n".join(v.log[-80:]) if shown else "",
                     "runs": ",".join(v.test.runs) if v.test is not None else ""})
    return rows


def render_html(jobs: list[JobSummary], title: str, extra: str = "") -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    tpl = env.get_template("report.html.j2")
    data = [{"job": j.job, "state": j.state, "exit_code": j.exit_code,
             "stages": [s.to_dict() for s in j.stages], "counts": j.counts(),
             "rows": _rows(j), "splats": [s.to_dict() for s in j.splats],
             "new_warnings": new_warnings(j)} for j in jobs]
    return tpl.render(title=title, jobs=data, count_keys=COUNT_KEYS, extra=extra)
