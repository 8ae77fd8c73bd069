"""Text and HTML reports over one or more jobs, and the per-job output files."""
from __future__ import annotations

from pathlib import Path

import jinja2

from common.progress import fmt_secs

from . import junit
from .compare import worst
from .model import Status, TestResult
from .store import JobSummary, write_text

TEMPLATES = Path(__file__).resolve().parent / "templates"
COUNT_KEYS = ["pass", "fail", "skip", "flaky", "timeout", "error", "missing", "xfail", "todo"]


def suite_tree(job: JobSummary) -> list[TestResult]:
    """One top-level test per suite, its tests as subtests (what results.tap holds)."""
    return [TestResult(name=s.name, status=worst(s.parsed.tests), subtests=s.parsed.tests)
            for s in job.suites]


def write_outputs(job: JobSummary) -> None:
    """results.tap, junit.xml and report.html for one job dir."""
    from .ktap import emit_ktap
    assert job.path is not None
    write_text(job.path / "results.tap", emit_ktap(suite_tree(job)))
    write_text(job.path / "junit.xml", junit.render([("", job.suites)]))
    write_text(job.path / "report.html", render_html([job], title=f"kharness: {job.job}"))


def stage_line(job: JobSummary) -> str:
    parts = []
    for s in job.stages:
        took = f" {fmt_secs(s.duration)}" if s.duration else ""
        parts.append(f"{s.name}:{s.status}{took}")
    return " ".join(parts)


def reached(job: JobSummary) -> str:
    """The last stage that succeeded, or the one that failed, or NOT RUN."""
    last = "-"
    for s in job.stages:
        if s.status == "failed":
            return f"{s.name} FAILED"
        if s.status == "not-run":
            return "NOT RUN"
        if s.ok:
            last = s.name
    return last


def bad_count(counts: dict[str, int]) -> int:
    return sum(counts.get(k, 0) for k in ("fail", "timeout", "error", "missing"))


def render_table(rows: list[list[str]]) -> str:
    """Left-aligned columns with a rule under the header row."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def text_table(jobs: list[JobSummary]) -> str:
    rows = [["job", "state", "reached", "pass", "fail", "skip", "flaky", "splats", "exit"]]
    for j in jobs:
        c = j.counts()
        rows.append([j.job, j.state, reached(j), str(c.get("pass", 0) + c.get("xfail", 0)),
                     str(bad_count(c)), str(c.get("skip", 0)), str(c.get("flaky", 0)),
                     str(len(j.splats)), str(j.exit_code if j.exit_code is not None else "-")])
    return render_table(rows)


def text_report(jobs: list[JobSummary]) -> str:
    lines = [text_table(jobs), ""]
    for j in jobs:
        lines.append(f"{j.job}: {stage_line(j)}")
        for s in j.stages:
            if s.status == "failed" and s.detail:
                lines.append(f"  {s.name} failed: {s.detail.splitlines()[0]}")
        for path, t in j.tests():
            if t.status.is_bad and not t.subtests:
                lines.append(f"  {t.status.value.upper()}: {path}")
            elif t.status == Status.FLAKY:
                lines.append(f"  FLAKY: {path} (runs: {','.join(t.runs)})")
        for sp in j.splats:
            where = f" during {sp.test}" if sp.test else ""
            lines.append(f"  SPLAT [{sp.fingerprint[:12]}] {sp.kind}: {sp.title}{where}")
    return "\n".join(lines).rstrip() + "\n"


def _rows(job: JobSummary) -> list[dict]:
    rows = []
    for path, t in job.tests():
        if t.subtests:
            continue
        rows.append({"path": path, "status": t.status.value, "reason": t.reason,
                     "log": "\n".join(t.log[-80:]) if t.status.is_bad or
                     t.status == Status.FLAKY else "", "runs": ",".join(t.runs)})
    return rows


def render_html(jobs: list[JobSummary], title: str, extra: str = "") -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    tpl = env.get_template("report.html.j2")
    data = [{"job": j.job, "state": j.state, "exit_code": j.exit_code,
             "stages": [s.to_dict() for s in j.stages], "counts": j.counts(),
             "rows": _rows(j), "splats": [s.to_dict() for s in j.splats]} for j in jobs]
    return tpl.render(title=title, jobs=data, count_keys=COUNT_KEYS, extra=extra)
