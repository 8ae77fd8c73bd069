"""The `revisions` report in HTML: the revision x test grid coloured by verdict,
the stages, new warnings and splats of each revision, and the range-diff between
each pair of neighbouring revisions (collapsible, inline, no network)."""
from __future__ import annotations

import re
from pathlib import Path

from common.stage import first_stopped

from .compare import verdict_statuses
from .report import _anchor, render_html
from .store import JobSummary

# `=== range-diff v1..v2`: what bisection.revisions.range_diffs puts before each pair
PAIR_HEAD = re.compile(r"^=== range-diff (\S+)\.\.(\S+)$")
# a range-diff's pair line: "1:  2dfde53 ! 1:  9f1e0a2 subject" (= same, ! changed, < > one side)
PAIR_LINE = re.compile(r"^\s*(?:\d+|-):\s+(?:[0-9a-f]+|-+)\s+([=!<>])\s")
MARKS = {"=": "rd-same", "!": "rd-changed", "<": "rd-dropped", ">": "rd-added"}


def split_range_diffs(text: str) -> list[dict]:
    """The `=== range-diff old..new` parts of the revisions' range-diff text, in order."""
    parts: list[dict] = []
    for line in text.splitlines():
        m = PAIR_HEAD.match(line)
        if m:
            parts.append({"old": m.group(1), "new": m.group(2), "lines": []})
        elif parts:
            parts[-1]["lines"].append(line)
    return parts


def classify_line(line: str) -> str:
    """A range-diff line's class: its pair mark, or the sign of the diff of diffs
    (`    -`/`    +` a line gone/new between the revisions), else context."""
    m = PAIR_LINE.match(line)
    if m:
        return MARKS[m.group(1)]
    body = line[4:] if line.startswith("    ") else ""
    if body.startswith("@@"):
        return "rd-hunk"
    if body[:1] in "-+" and body:
        return "rd-old" if body[0] == "-" else "rd-new"
    return ""


def range_diff_view(part: dict) -> dict:
    lines = [(classify_line(ln), ln) for ln in part["lines"]]
    marks = [c for c, _ in lines if c in MARKS.values()]
    summary = {k: marks.count(v) for k, v in (("same", "rd-same"), ("changed", "rd-changed"),
                                              ("added", "rd-added"), ("dropped", "rd-dropped"))}
    return {"old": part["old"], "new": part["new"], "lines": lines,
            "summary": ", ".join(f"{n} {k}" for k, n in summary.items() if n) or "no patches",
            "open": bool(summary["changed"] or summary["added"] or summary["dropped"])}


def revision_grid(revs: list[str], jobs: list[JobSummary]) -> dict:
    """Revision x test: each test's verdict per revision ('' where it did not run);
    the tests whose verdict is not the same pass in every revision come first."""
    statuses = [{p: s.value for p, s in verdict_statuses(j).items()} for j in jobs]
    tests = sorted(set().union(*statuses)) if statuses else []
    rows = [{"path": t, "cells": [st.get(t, "") for st in statuses]} for t in tests]
    differ = [r for r in rows if set(r["cells"]) != {"pass"}]
    same = [r for r in rows if set(r["cells"]) == {"pass"}]
    return {"revs": revs, "rows": differ, "passing": same}


def job_row(revs: list[str], jobs: list[JobSummary]) -> list[dict]:
    """Per revision: where the job stopped, its exit code, new warnings and splats."""
    out = []
    for rev, j in zip(revs, jobs):
        stop = first_stopped(j.stages)
        build = next((s for s in j.stages if s.name == "build"), None)
        new_warn = build.data.get("new_warnings") if build is not None else None
        out.append({"rev": rev, "job": j.job, "anchor": _anchor(j.job), "exit": j.exit_code,
                    "stopped": f"{stop.name} {stop.status}" if stop else "",
                    "cls": "pass" if j.exit_code == 0 else "fail" if j.exit_code == 1
                    else "error" if j.exit_code is not None else "skip",
                    "new_warnings": "-" if new_warn is None else new_warn,
                    "splats": len(j.splats)})
    return out


def revisions_view(revs: list[str], jobs: list[JobSummary], diffs: str) -> dict:
    """What the report template's revisions section shows."""
    return {"grid": revision_grid(revs, jobs), "jobs": job_row(revs, jobs),
            "diffs": [range_diff_view(p) for p in split_range_diffs(diffs)]}


def render_revisions_html(series: str, revs: list[str], jobs: list[JobSummary], text: str,
                          diffs: str, where: Path) -> str:
    """report.html of `harness.py revisions SERIES` (written to `where`)."""
    return render_html(jobs, f"{series}: revisions", text + "\n\n" + diffs, where=where,
                       revisions=revisions_view(revs, jobs, diffs))
