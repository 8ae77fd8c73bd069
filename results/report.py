"""Text and HTML reports over one or more jobs, and the per-job output files."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import jinja2
from markupsafe import Markup

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


# Order of the tests table: what a developer has to look at first.
STATUS_ORDER = {"fail": 0, "error": 0, "timeout": 0, "missing": 0, "flaky": 1, "xfail": 2,
                "todo": 3, "skip": 4, "pass": 5}
# Files of a job the report links, in this order, when they exist (label, path).
JOB_FILES = [("console.log", "console.log"), ("dmesg.txt", "dmesg.txt"),
             ("build log", "build/build.log"), ("new warnings", "build/new-warnings.txt"),
             ("warnings", "build/warnings.txt"), (".config", "config/config"),
             ("config check report", "config/config-report.txt"),
             ("reproduce.sh", "reproduce.sh"), ("commands.log", "commands.log"),
             ("results.tap", "results.tap"), ("junit.xml", "junit.xml"),
             ("manifest.json", "manifest.json"), ("summary.json", "summary.json")]
STAGE_COLOURS = {"ok": "#6a6", "cached": "#9c9", "failed": "#d55", "skipped": "#bbb",
                 "not-run": "#bbb", "running": "#fc6"}


def _rows(job: JobSummary) -> list[dict]:
    """The job's test verdicts, failures first (then flaky, skipped, passed), each
    with its log excerpt when it needs a look."""
    rows = []
    for v in job_verdicts(job):
        if v.splat is not None:
            continue
        shown = v.status.is_bad or v.status == Status.FLAKY
        rows.append({"path": v.path, "status": v.status.value, "reason": v.reason,
                     "log": "\n".join(v.log[-80:]) if shown else "",
                     "runs": ",".join(v.test.runs) if v.test is not None else "",
                     "duration": v.duration})
    return sorted(rows, key=lambda r: STATUS_ORDER.get(r["status"], 5))


def _manifest(job: JobSummary) -> dict:
    from common.fsutil import read_json
    f = job.path / "manifest.json" if job.path is not None else None
    try:
        return read_json(f) if f is not None and f.is_file() else {}
    except ValueError:
        return {}


def job_identity(job: JobSummary, man: dict | None = None) -> list[tuple[str, str]]:
    """What the job tested, from manifest.json: (label, value) rows."""
    man = _manifest(job) if man is None else man
    spec, facts, versions = man.get("job", {}), man.get("facts", {}), man.get("versions", {})
    tree = facts.get("tree", {})
    apply = facts.get("apply", {})
    cfg = facts.get("config", {})
    tool = spec.get("toolchain") or ""
    compiler = versions.get("clang" if tool.startswith("llvm") else "gcc", "")
    accel = facts.get("vm", {}).get("accel") or spec.get("accel")
    rows = [("tree", f"{tree.get('name') or spec.get('tree') or '?'} at "
                     f"{(tree.get('commit') or apply.get('base') or '?')[:12]}")]
    if spec.get("series"):
        n = len(apply.get("patches", []))
        upto = f", up to patch {spec['upto']}" if spec.get("upto") else ""
        rows.append(("series", f"{spec['series']}@{spec.get('rev')}: {n} patch(es){upto}"
                               + (f", head {apply['head'][:12]}" if apply.get("head") else "")))
    else:
        rows.append(("series", "none (the base tree)"))
    frags = "+".join(cfg.get("fragments", []))
    rows += [("profile", (cfg.get("profile") or spec.get("profile") or "?")
              + (f" (+{frags})" if frags else "")),
             ("config hash", (cfg.get("sha256") or "?")[:16]),
             ("toolchain", f"{tool or '?'}" + (f": {compiler}" if compiler else "")),
             ("arch", spec.get("arch") or man.get("host", {}).get("machine") or "x86_64"),
             ("VM", (accel or "?").upper()
              + (f" ({versions['qemu']})" if versions.get("qemu") else ""))]
    if spec.get("make_flags"):
        rows.append(("make flags", " ".join(spec["make_flags"])))
    if man.get("started"):
        rows.append(("time", f"{man['started']} .. {man.get('ended') or job.ended or '?'}"))
    return rows


def raw_logs(rec: SuiteRecord) -> list[str]:
    """The suite's raw log files, relative to the job dir (one per group it ran)."""
    return [r for r in (rec.raw or "").split(",") if r]


def raw_log_for(job: JobSummary, path: str) -> str | None:
    """The raw log that holds test `suite/test...`: the group's own log when the
    suite ran one group per test, else the suite's first."""
    suite, _, rest = path.partition("/")
    top = rest.split("/", 1)[0]
    for rec in job.suites:
        if rec.name == suite:
            logs = raw_logs(rec)
            own = [r for r in logs if Path(r).stem.split("-", 1)[-1] == top]
            return (own or logs or [None])[0]
    return None


def _href(path: Path, where: Path) -> str:
    from urllib.parse import quote
    return quote(Path(os.path.relpath(path, where)).as_posix())


def job_files(job: JobSummary, where: Path) -> list[tuple[str, str]]:
    """(label, relative link from `where`) for every file of the job that exists:
    raw suite logs, stage logs, console, dmesg, build log, config, reproduce.sh..."""
    if job.path is None:
        return []
    out, seen = [], set()

    def add(label: str, rel: str | None) -> None:
        if rel and rel not in seen and (job.path / rel).is_file():
            seen.add(rel)
            out.append((label, _href(job.path / rel, where)))
    for rec in job.suites:
        logs = raw_logs(rec)
        for r in logs:
            add(f"raw {rec.name} log" + (f" ({Path(r).stem})" if len(logs) > 1 else ""), r)
    for label, rel in JOB_FILES:
        add(label, rel)
    for s in job.stages:
        add(f"{s.name} stage log", s.log)
        add(f"{s.name} traceback", f"logs/{s.name}.traceback.txt")
    return out


def timeline_svg(job: JobSummary, width: int = 640) -> Markup:
    """The job's stages as bars on one time axis (inline SVG, drawn here)."""
    from markupsafe import escape
    stages = [s for s in job.stages if s.status not in ("skipped",)]
    total = sum(s.duration for s in stages) or 1.0
    label_w, row_h = 130, 18
    scale = (width - label_w - 70) / total
    parts = [f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{row_h * len(stages) + 6}" role="img" '
             f'aria-label="stage durations of {escape(job.job)}">']
    t = 0.0
    for i, s in enumerate(stages):
        y = 3 + i * row_h
        x = label_w + t * scale
        w = max(s.duration * scale, 1.0)
        colour = STAGE_COLOURS.get(str(s.status), "#999")
        parts.append(f'<text x="0" y="{y + 12}" font-size="12">{escape(s.name)}</text>'
                     f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 4}" '
                     f'fill="{colour}"><title>{escape(s.name)}: {escape(str(s.status))} '
                     f'{fmt_secs(s.duration)}</title></rect>'
                     f'<text x="{x + w + 4:.1f}" y="{y + 12}" font-size="11">'
                     f'{escape(fmt_secs(s.duration))}</text>')
        t += s.duration
    parts.append("</svg>")
    return Markup("".join(parts))


def problems(job: JobSummary, where: Path | None = None) -> list[dict]:
    """What fails the job or needs a look, first in the report: failed stages, failing
    tests, new splats, new warnings, then flaky tests and known splats; each with
    its excerpt."""
    out = []
    def link(rel: str | None) -> str | None:
        if not rel or job.path is None or where is None or not (job.path / rel).is_file():
            return None
        return _href(job.path / rel, where)
    for s in job.stages:
        if s.status == "failed":
            out.append({"kind": "stage failed", "cls": "fail", "what": s.name,
                        "excerpt": s.detail, "href": link(s.log)})
    for v in job_verdicts(job):
        if v.splat is not None:
            sp = v.splat
            during = f" during {sp.test}" if sp.test else ""
            out.append({"kind": "known splat" if sp.known else "new splat",
                        "cls": "xfail" if sp.known else "fail",
                        "what": f"[{sp.fingerprint[:12]}] {sp.kind}: {sp.title}{during}"
                                + (f" (known: {sp.known})" if sp.known else ""),
                        "excerpt": "\n".join(sp.excerpt), "href": link("dmesg.txt")})
        elif v.status.is_bad:
            own = " (failed on its own; its subtests passed)" if v.test and v.test.subtests \
                else ""
            out.append({"kind": f"test {v.status.value}", "cls": "fail",
                        "what": v.path + own, "excerpt": "\n".join(
                            ([v.reason] if v.reason else []) + v.log[-40:]),
                        "href": link(raw_log_for(job, v.path))})
    warns = new_warnings(job)
    if warns:
        out.append({"kind": "new warnings", "cls": "fail",
                    "what": f"{len(warns)} against the base tree",
                    "excerpt": "\n".join(f">> {w}" for w in warns),
                    "href": link("build/new-warnings.txt")})
    for v in job_verdicts(job):
        if v.status == Status.FLAKY:
            runs = ",".join(v.test.runs) if v.test is not None else ""
            out.append({"kind": "flaky", "cls": "flaky", "what": f"{v.path} (runs: {runs})",
                        "excerpt": "\n".join(v.log[-20:]),
                        "href": link(raw_log_for(job, v.path))})
    order = {"fail": 0, "flaky": 1, "xfail": 2}
    return sorted(out, key=lambda p: order.get(p["cls"], 3))


def _base_key(man: dict) -> tuple:
    spec = man.get("job", {})
    return (spec.get("tree"), spec.get("profile"), spec.get("toolchain"), spec.get("arch"))


def matrix_grid(jobs: list[JobSummary], mans: list[dict]) -> list[dict]:
    """One row per job: its counts and its comparison with the base job of the same
    tree, profile, toolchain and arch."""
    from .compare import compare_jobs
    bases = {_base_key(m): j for j, m in zip(jobs, mans)
             if m.get("job") and not m["job"].get("series")}
    rows = []
    for j, m in zip(jobs, mans):
        c = j.counts()
        base = bases.get(_base_key(m)) if m.get("job", {}).get("series") else None
        cmp = compare_jobs(base, j) if base is not None and base is not j else None
        if cmp is None:
            verdict, cls, notes = ("baseline" if base is None and m.get("job")
                                   and not m["job"].get("series") else "no baseline"), "", []
        else:
            verdict = cmp.verdict
            cls = "fail" if cmp.regressed else ("skip" if cmp.incomplete else "pass")
            notes = ([f"new failure: {x.test}" for x in cmp.new_failures]
                     + [f"new splat: {sp.title}" for sp in cmp.new_splats]
                     + [f"fixed: {x.test}" for x in cmp.fixes])
        rows.append({"job": j.job, "anchor": _anchor(j.job), "reached": reached(j),
                     "counts": c, "bad": bad_count(c), "splats": splat_cell(j),
                     "new_warn": new_warn_cell(j), "exit": j.exit_code,
                     "time": fmt_secs(sum(s.duration for s in j.stages)),
                     "verdict": verdict, "cls": cls, "notes": notes[:10]})
    return rows


def job_test_grid(jobs: list[JobSummary]) -> dict:
    """Job x test: the tests that did not pass in some job that ran them (the rest
    are counted), each job's status per test ('' where the job did not run it)."""
    table: dict[str, dict[str, str]] = {}
    for j in jobs:
        for v in job_verdicts(j):
            table.setdefault(v.path, {})[j.job] = v.status.value
    names = [j.job for j in jobs]
    rows = [{"path": p, "cells": [st.get(n, "") for n in names]} for p, st in table.items()
            if any(v != "pass" for v in st.values())]
    rows.sort(key=lambda r: min(STATUS_ORDER.get(c, 6) for c in r["cells"]))
    return {"jobs": names, "rows": rows, "same": len(table) - len(rows)}


def _anchor(job: str) -> str:
    return "job-" + "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in job)


def _report_dir(jobs: list[JobSummary], mans: list[dict]) -> Path:
    """Where a report of these jobs is written when the caller does not say: the job
    dir for one job; for several, their run dir (the ancestor named after the run id
    all of them share: a matrix's or a revisions run's), else their common dir."""
    paths = [j.path for j in jobs if j.path is not None]
    if not paths:
        return Path(".")
    if len(paths) == 1:
        return paths[0]
    ids = {m.get("run_id") for m in mans}
    if len(ids) == 1 and None not in ids:
        run_id = ids.pop()
        dirs = {next((a for a in p.parents if a.name == run_id), None) for p in paths}
        if len(dirs) == 1 and None not in dirs:
            return dirs.pop()
    return Path(os.path.commonpath([str(p) for p in paths]))


def render_html(jobs: list[JobSummary], title: str, extra: str = "",
                where: Path | None = None, revisions: dict | None = None) -> str:
    """The report a developer opens: per job its identity, what failed first (with
    excerpts), links to every file of the job (relative to `where`, the dir the
    report is written to: the job dir for one job, else the jobs' common dir), a
    stage timeline and the tests with a filter; for several jobs the job x status
    grid with each job's comparison with its baseline, and the job x test grid (for
    `revisions`, from results.html_revisions: the revision x test grid coloured by
    verdict and the range-diff of each pair of neighbouring revisions instead)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    tpl = env.get_template("report.html.j2")
    mans = [_manifest(j) for j in jobs]
    if where is None:
        where = _report_dir(jobs, mans)
    data = [{"job": j.job, "anchor": _anchor(j.job), "state": j.state,
             "exit_code": j.exit_code, "stages": [s.to_dict() for s in j.stages],
             "counts": j.counts(), "rows": _rows(j), "splats": [s.to_dict() for s in j.splats],
             "new_warnings": new_warnings(j), "identity": job_identity(j, m),
             "files": job_files(j, where), "problems": problems(j, where),
             "timeline": timeline_svg(j)} for j, m in zip(jobs, mans)]
    multi = len(jobs) > 1
    # the sections of jobs that fail (or have flaky tests) first; the grid keeps the order
    data.sort(key=lambda d: min((0 if p["cls"] == "fail" else 1 if p["cls"] == "flaky" else 2
                                 for p in d["problems"]), default=2))
    html = tpl.render(title=title, jobs=data, count_keys=COUNT_KEYS, extra=extra,
                      grid=matrix_grid(jobs, mans) if multi else [],
                      tests=job_test_grid(jobs) if multi and not revisions else None,
                      revisions=revisions,
                      script=Markup((TEMPLATES / "report-filter.js").read_text()))
    return junit.xml_safe(html)   # guest output may hold NUL or ESC: keep it well-formed
