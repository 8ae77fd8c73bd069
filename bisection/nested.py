"""Two levels in one bisect (`bisect SERIES --revs ... --then-patches`): the first bad
revision, then, within it, the first bad of the patches that differ from the last
good revision according to their range-diff."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from common.fsutil import write_json
from results.store import write_text

from .confirm import UNCONFIRMED, Confirmation
from .core import SearchResult
from .criteria import Criterion
from .drivers import bisect_doc, bisect_patches, bisect_revisions
from .flow import SearchOptions
from .revisions import differing_patches, patch_pairs


@dataclass
class Level:
    result: SearchResult
    summary: str
    conf: Confirmation | None


@dataclass
class TwoLevels:
    revisions: Level
    patches: Level | None = None       # None: the patch level did not run
    differing: list[int] = field(default_factory=list)
    note: str = ""                     # why the patch level did not run
    summary: str = ""


def patch_level_plan(rv: Level, revs: list[str], rd_text: str) -> tuple[list[int], str]:
    """(the differing patch positions of the first bad revision, or why there is no
    patch bisect)."""
    res = rv.result
    if res.status != "found" or res.last_good is None:
        return [], "no patch bisect: the revision bisect named no first bad revision"
    if rv.conf is not None and rv.conf.verdict == UNCONFIRMED:
        return [], (f"no patch bisect: {revs[res.first_bad]} is unconfirmed as the first "
                    "bad revision")
    old, new = revs[res.last_good], revs[res.first_bad]
    pairs = patch_pairs(rd_text)
    if not pairs:
        return [], f"no patch bisect: the range-diff {old}..{new} is empty (no patches to compare)"
    diff = differing_patches(pairs)
    if not diff:
        dropped = [p.subject for p in pairs if p.mark == "<"]
        why = (f"every patch of {new} matches one of {old} (range-diff '='"
               + (f"; dropped from {old}: {'; '.join(dropped)}" if dropped else "")
               + "): the failure is not in a patch that differs, so there is nothing "
                 "to bisect within it")
        return [], f"no patch bisect: {why}"
    return diff, ""


def bisect_two_levels(series: str, revs: list[str], criterion: Criterion, run_spec, base_spec,
                      out_dir: Path, runner, opts: SearchOptions) -> TwoLevels:
    """Revisions first; then the differing patches of the first bad revision, with
    the patches before the first differing one (identical in both) as the good end.
    bisect.log and bisect.json of `out_dir` cover both levels; the patch level's own
    are in out_dir/patches."""
    res, _, summary, conf, rd_text = bisect_revisions(series, revs, criterion, run_spec,
                                                      base_spec, out_dir, runner, opts)
    two = TwoLevels(Level(res, summary, conf))
    two.differing, two.note = patch_level_plan(two.revisions, revs, rd_text)
    lines = [summary.rstrip("\n"), ""]
    if two.differing:
        new = revs[res.first_bad]
        lines.append(f"then, within {new}: its patches that differ from "
                     f"{revs[res.last_good]}: {', '.join(map(str, two.differing))}")
        sub = out_dir / "patches"
        sub.mkdir(parents=True, exist_ok=True)
        pres, _, psum, pconf = bisect_patches(series, new, criterion, run_spec, base_spec,
                                              sub, opts, good=two.differing[0] - 1,
                                              only=two.differing)
        two.patches = Level(pres, psum, pconf)
        lines.append(psum)
    else:
        lines.append(two.note)
    two.summary = "\n".join(lines)
    _write_both(out_dir, two)
    return two


def _write_both(out_dir: Path, two: TwoLevels) -> None:
    """Append the patch level's log (or why it did not run) to the revision level's."""
    log = out_dir / "bisect.log"
    sub = out_dir / "patches" / "bisect.log"
    more = sub.read_text() if two.patches is not None else two.note + "\n"
    write_text(log, log.read_text() + "\n" + more)
    doc = bisect_doc(two.revisions.result, two.revisions.conf)
    doc["then_patches"] = {"differing": two.differing, "note": two.note,
                           **(bisect_doc(two.patches.result, two.patches.conf)
                              if two.patches else {})}
    write_json(out_dir / "bisect.json", doc)
