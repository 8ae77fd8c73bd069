"""Every revision of a series side by side: revision x test, warnings and splats,
with the range-diff between neighbouring revisions."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from common.errors import EXIT_PASS, EXIT_TESTS_FAILED, HarnessError
from common.stage import first_stopped
from results.html_revisions import render_revisions_html
from results.report import render_table
from results.store import JobSummary, write_text


def _leaves(job: JobSummary) -> dict[str, str]:
    """Every test verdict of the job (a parent's own failure included)."""
    from results.compare import verdict_statuses
    return {p: st.value for p, st in verdict_statuses(job).items()}


def _stage_note(job: JobSummary) -> str:
    stop = first_stopped(job.stages)
    return f"{stop.name} {stop.status}" if stop else "ok"


def table(revs: list[str], jobs: list[JobSummary]) -> str:
    leaves = [_leaves(j) for j in jobs]
    tests = sorted(set().union(*leaves)) if leaves else []
    rows = [["test", *revs]]
    rows.append(["(stages)", *[_stage_note(j) for j in jobs]])
    rows.append(["(new warnings)", *[str(next((s.data.get("new_warnings", "-") for s in j.stages
                                               if s.name == "build"), "-")) for j in jobs]])
    rows.append(["(splats)", *[str(len(j.splats)) for j in jobs]])
    for t in tests:
        rows.append([t, *[lv.get(t, "-") for lv in leaves]])
    return render_table(rows)


def range_diffs(series: str, revs: list[str], tree: str, runner) -> str:
    from patches.rangediff import RangeDiffRequest, range_diff
    parts = []
    for old, new in zip(revs, revs[1:]):
        try:
            text = range_diff(RangeDiffRequest(series, old, new, tree=tree), runner).text
        except HarnessError as e:
            text = f"(range-diff failed: {e})"
        parts.append(f"=== range-diff {old}..{new}\n{text}")
    return "\n".join(parts)


# `git range-diff` pairs: "1:  2dfde53 = 1:  2dfde53 subject", "-:  ------- > 3:  4b44018 ..."
PAIR = re.compile(r"^\s*(\d+|-):\s+(?:[0-9a-f]+|-+)\s+([=!<>])\s+(\d+|-):\s+"
                  r"(?:[0-9a-f]+|-+)\s+(.*)$")


@dataclass
class PatchPair:
    old: int | None          # position in the old revision (None: not there)
    new: int | None          # position in the new revision (None: dropped)
    mark: str                # = same, ! changed, > added, < dropped
    subject: str


def patch_pairs(text: str) -> list[PatchPair]:
    """The pair lines of a range-diff (the indented diffs between them are skipped)."""
    out = []
    for line in text.splitlines():
        m = PAIR.match(line)
        if m:
            old, mark, new, subject = m.groups()
            out.append(PatchPair(None if old == "-" else int(old),
                                 None if new == "-" else int(new), mark, subject))
    return out


def differing_patches(pairs: list[PatchPair]) -> list[int]:
    """Positions in the new revision of its patches that are new or changed."""
    return sorted(p.new for p in pairs if p.new is not None and p.mark in "!>")


def revisions_with_patches(series: str) -> list[str]:
    from patches.manifest import find_series
    from patches.source import revision_status
    s = find_series(series)
    return [r.label for r in s.revisions if revision_status(s, r).state == "present"]


def revisions_table(series: str, base_spec, run, out: Path, runner) -> int:
    revs = revisions_with_patches(series)
    if not revs:
        print(f"{series}: no revision has patches yet")
        return EXIT_PASS
    jobs = [run(replace(base_spec, series=series, rev=r, upto=None)).summary for r in revs]
    text = table(revs, jobs)
    diffs = range_diffs(series, revs, base_spec.tree, runner)
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / "revisions.txt", text + "\n")
    write_text(out / "range-diffs.txt", diffs + "\n")
    write_text(out / "report.html", render_revisions_html(series, revs, jobs, text, diffs, out))
    print(text)
    print(f"report: {out / 'report.html'}")
    bad = any(j.exit_code not in (0, None) for j in jobs)
    return EXIT_TESTS_FAILED if bad else EXIT_PASS
