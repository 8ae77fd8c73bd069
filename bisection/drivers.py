"""The three bisects: patches of one revision, revisions of a series, base commits.

Each step runs the real pipeline (cached builds make a step cost only what changed)
and judges its job with a Criterion; retries give fail:runs counts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from common.errors import EXIT_BISECT_SKIP, EXIT_INFRA, InfraError, InputError, UsageError
from common.fsutil import write_json
from results.store import write_text

from .confirm import CONFIRMED, Check, Confirmation, confirm
from .core import BAD, GOOD, SKIP, SearchResult, StepVerdict
from .criteria import Criterion, judge, warnings_of
from .flow import SearchOptions, run_search

RunJob = Callable[..., object]      # pipeline run for one spec -> JobOutcome


@dataclass
class BisectLog:
    title: str
    lines: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.lines.append(text)

    def text(self) -> str:
        return "\n".join([self.title, *self.lines]) + "\n"


def judge_outcome(criterion: Criterion, outcome) -> tuple[str, str, float]:
    """Judge a step's job. A job that ended in an infrastructure failure (exit 7: a
    timeout, a harness bug) has no verdict: the bisect stops instead of guessing."""
    job = outcome.summary
    if outcome.exit_code == EXIT_INFRA:
        failed = next((f"{s.name}: {s.detail.splitlines()[0]}" for s in job.stages
                       if s.status == "failed" and s.detail), "no stage failed")
        raise InfraError(f"step {job.job} ended in an infrastructure failure ({failed}); "
                         f"results: {outcome.path}")
    verdict, why = judge(criterion, job, warnings_of(job))
    build = next((s.duration for s in job.stages if s.name == "build"), 0.0)
    return verdict, why, build


def make_once(criterion: Criterion, run_spec: Callable[[object], object],
              spec_for: Callable[[int, object], object], cands: list, log: BisectLog,
              opts: SearchOptions):
    """once(i) -> (verdict, why, build seconds): one run of candidate i (logged when
    the search is adaptive: it counts runs, not steps)."""
    def once(i: int) -> tuple[str, str, float]:
        verdict, why, build = judge_outcome(criterion, run_spec(spec_for(i, cands[i])))
        if opts.adaptive:
            log.add(f"run {i} ({_label(cands[i])}): {verdict} build {build:.1f}s - {why}")
        return verdict, why, build
    return once


def search_with(cands: list, criterion: Criterion, run_spec, spec_for, log: BisectLog,
                opts: SearchOptions):
    """run_search over the pipeline, each step of today's search logged as before."""
    def on_step(i: int, v: StepVerdict) -> None:
        log.add(f"step {i} ({_label(cands[i])}): {v.verdict} {v.counts()} build "
                f"{v.seconds:.1f}s - {v.detail}")
    return run_search(cands, make_once(criterion, run_spec, spec_for, cands, log, opts),
                      opts, on_step)


def judged_once(criterion: Criterion, run_spec, spec, name: str, log: BisectLog):
    """run_once() for a confirmation check: one judged run of `spec`, logged."""
    def run_once() -> tuple[str, str]:
        verdict, why, _ = judge_outcome(criterion, run_spec(spec))
        log.add(f"confirm {name}: {verdict} - {why}")
        return verdict, why
    return run_once


def _label(cand) -> str:
    return getattr(cand, "label", None) or str(cand)


@dataclass
class PatchStep:
    upto: int          # patches applied; 0 = the base
    subject: str
    total: int = 0     # patches of the revision

    @property
    def label(self) -> str:
        return f"{self.upto} patches" + (f": {self.subject}" if self.subject else "")


def patch_candidates(series: str, rev: str, good: int = 0,
                     only: list[int] | None = None) -> list[PatchStep]:
    """The patch counts to bisect: good..all, or good and then only the counts in
    `only` (the patches a range-diff says differ)."""
    from patches.manifest import find_series
    from patches.source import load_patches
    s = find_series(series)
    items = load_patches(s, s.revision(rev))
    if len(items) < 1:
        raise InputError(f"{series}@{rev} has no patches to bisect")
    if not 0 <= good < len(items):
        raise UsageError(f"--good {good}: must be between 0 and {len(items) - 1}")
    counts = list(range(good, len(items) + 1)) if only is None else [good, *only]
    if counts != sorted(set(counts)) or counts[-1] > len(items):
        raise UsageError(f"patch counts {counts} of {series}@{rev}: not increasing from "
                         f"--good {good} within 1..{len(items)}")
    return [PatchStep(k, items[k - 1].subject if k else "base", len(items)) for k in counts]


def report(result: SearchResult, cands: list, log: BisectLog, what: str,
           extra: list[str] | None = None, conf: Confirmation | None = None) -> str:
    lines = [f"bisect over {what}: {result.status}", result.message]
    if result.first_bad is not None and result.status == "found":
        word = "" if conf is None or conf.verdict == CONFIRMED else f" ({conf.verdict})"
        lines.append(f"first bad{word}: {_label(cands[result.first_bad])}")
        step = next((s for s in result.steps if s.index == result.first_bad), None)
        if step is not None:
            lines.append(f"evidence: {step.verdict.detail} ({step.verdict.counts()})")
        elif conf is not None and conf.checks and conf.checks[0].fails:
            c = conf.checks[0]          # an adaptive search never runs its last candidate
            lines.append(f"evidence: {c.detail} (confirmation fail:runs {c.fails}:{c.runs})")
    lines += (extra or []) + (conf.lines() if conf else [])
    lines.append(f"steps: {len(result.steps)}")
    for s in result.steps:
        lines.append(f"  {_label(s.candidate)}: {s.verdict.verdict} {s.verdict.counts()} "
                     f"(build {s.verdict.seconds:.1f}s)")
    return "\n".join(lines)


def bisect_doc(result: SearchResult, conf: Confirmation | None = None) -> dict:
    """bisect.json of one bisect."""
    return {
        "status": result.status, "first_bad": result.first_bad, "last_good": result.last_good,
        "message": result.message,
        "confirmation": conf.to_dict() if conf else None,
        "steps": [{"index": s.index, "candidate": _label(s.candidate),
                   "verdict": s.verdict.verdict, "fails": s.verdict.fails,
                   "runs": s.verdict.runs, "detail": s.verdict.detail,
                   "build_seconds": s.verdict.seconds} for s in result.steps]}


def write_log(out_dir: Path, log: BisectLog, summary: str, result: SearchResult,
              conf: Confirmation | None = None) -> None:
    write_text(out_dir / "bisect.log", log.text() + "\n" + summary + "\n")
    write_json(out_dir / "bisect.json", bisect_doc(result, conf))


def bisect_patches(series: str, rev: str, criterion: Criterion, run_spec, base_spec,
                   out_dir: Path, opts: SearchOptions | None = None, good: int = 0,
                   only: list[int] | None = None):
    """Find the first patch of series@rev whose job goes bad, then confirm it. With
    `only`, the candidates are `good` and then those patch counts alone."""
    from dataclasses import replace
    opts = opts or SearchOptions()
    cands = patch_candidates(series, rev, good, only)
    which = (f"{good}..{cands[-1].upto}" if only is None
             else ",".join(str(c.upto) for c in cands))
    log = BisectLog(f"bisect {series}@{rev} patches {which} criterion {criterion}")

    def spec_for(i, cand: PatchStep):
        if cand.upto == 0:
            return replace(base_spec, series=None, rev=None, upto=None)
        return replace(base_spec, series=series, rev=rev, upto=cand.upto)
    result, extra, model = search_with(cands, criterion, run_spec, spec_for, log, opts)
    conf = None
    if result.status == "found" and opts.confirm > 0:
        checks = confirm_checks(criterion, run_spec, cands, result, spec_for, log)
        culprit = cands[result.first_bad]
        name = f"the series without patch {culprit.upto}"
        if culprit.upto == culprit.total and cands[result.last_good].upto == culprit.upto - 1:
            checks[1].name += f" = {name}"          # the same patches: run them once
        else:
            checks.append(Check(name, GOOD, judged_once(criterion, run_spec, replace(
                base_spec, series=series, rev=rev, upto=None, skip=culprit.upto), name, log)))
        conf = confirm(checks, opts.confirm, model)
    summary = report(result, cands, log, f"the patches of {series}@{rev}", extra, conf)
    write_log(out_dir, log, summary, result, conf)
    return result, cands, summary, conf


def confirm_checks(criterion: Criterion, run_spec, cands: list, result: SearchResult,
                   spec_for, log: BisectLog) -> list[Check]:
    """Rerun the culprit (expected bad) and the last good step (expected good)."""
    out = []
    for i, expect, what in ((result.first_bad, BAD, "culprit"),
                            (result.last_good, GOOD, "last good")):
        name = f"{what} ({_label(cands[i])})"
        out.append(Check(name, expect, judged_once(criterion, run_spec,
                                                   spec_for(i, cands[i]), name, log)))
    return out


def bisect_revisions(series: str, revs: list[str], criterion: Criterion, run_spec, base_spec,
                     out_dir: Path, runner, opts: SearchOptions | None = None):
    """Find the first revision that shows the failure; confirm it; range-diff it with
    the last good. Returns (result, revs, summary, confirmation, range-diff text)."""
    from dataclasses import replace
    opts = opts or SearchOptions()
    log = BisectLog(f"bisect {series} revisions {', '.join(revs)} criterion {criterion}")

    def spec_for(i, rev):
        return replace(base_spec, series=series, rev=rev, upto=None)
    result, extra, model = search_with(revs, criterion, run_spec, spec_for, log, opts)
    conf = None
    if result.status == "found" and opts.confirm > 0:
        conf = confirm(confirm_checks(criterion, run_spec, revs, result, spec_for, log),
                       opts.confirm, model)
    summary = report(result, revs, log, f"the revisions of {series}", extra, conf)
    rd_text = ""
    if result.status == "found" and result.last_good is not None:
        from patches.rangediff import RangeDiffRequest, range_diff
        rd = range_diff(RangeDiffRequest(series, revs[result.last_good], revs[result.first_bad],
                                         tree=base_spec.tree), runner)
        rd_text = rd.text
        write_text(out_dir / "range-diff.txt", rd_text)
        summary += f"\nrange-diff {revs[result.last_good]}..{revs[result.first_bad]}:\n{rd_text}"
    write_log(out_dir, log, summary, result, conf)
    return result, revs, summary, conf, rd_text


def step_exit_code(verdict: str) -> int:
    """What `git bisect run` wants: 0 good, 1 bad, 125 skip."""
    return {GOOD: 0, BAD: 1, SKIP: EXIT_BISECT_SKIP}[verdict]


FIRST_BAD = re.compile(r"^([0-9a-f]{40}) is the first bad commit", re.M)


def bisect_commits(repo: Path, good: str, bad: str, step_argv: list[str], runner,
                   out_dir: Path, timeout: float = 6 * 3600) -> tuple[str | None, str]:
    """Drive `git bisect run` in `repo` (a worktree) with `step_argv` as the run script.
    Returns (first bad commit or None, the bisect log). A bisect already in progress
    in `repo` (the user's) is refused, never reset."""
    git = ["git", "-C", str(repo)]
    if runner.run(git + ["bisect", "log"], timeout=60).returncode == 0:
        raise UsageError(f"{repo}: a git bisect is in progress there; bisect-commits "
                         "would lose it", hint=f"finish it, or end it with "
                         f"`git -C {repo} bisect reset`, then run bisect-commits again")
    runner.run(git + ["bisect", "start", bad, good], timeout=120, check=True, error=UsageError)
    try:
        res = runner.run(git + ["bisect", "run", *step_argv], timeout=timeout,
                         log=out_dir / "bisect-run.log")
        text = res.stdout + res.stderr
        if not text.strip() and (out_dir / "bisect-run.log").exists():
            text = (out_dir / "bisect-run.log").read_text(errors="replace")
        blog = runner.run(git + ["bisect", "log"], timeout=60).stdout
    finally:
        runner.run(git + ["bisect", "reset"], timeout=60)
    write_text(out_dir / "bisect.log", blog)
    m = FIRST_BAD.search(text)
    return (m.group(1) if m else None), blog


GIT_ID = ["-c", "user.name=kharness", "-c", "user.email=kharness@localhost"]


def confirm_commit(repo: Path, bad: str, first: str, runner, out_dir: Path, runs: int,
                   check_for: Callable[[str, str, Path], Check]) -> Confirmation:
    """Confirm a bisect-commits culprit in worktrees of `repo`: the culprit (bad), its
    parent (good) and `bad` with the culprit reverted (good; inconclusive when the
    revert does not apply). check_for(name, expect, worktree) makes each check."""
    git = ["git", "-C", str(repo)]
    base = out_dir / "confirm"
    made: list[Path] = []

    def worktree(name: str, rev: str) -> Path:
        wt = base / name
        runner.run(git + ["worktree", "add", "-f", "--detach", str(wt), rev], timeout=600,
                   check=True, error=UsageError)
        made.append(wt)
        return wt
    try:
        checks = [check_for(f"culprit {first[:12]}", BAD, worktree("culprit", first)),
                  check_for(f"last good {first[:12]}^", GOOD, worktree("last-good", first + "^"))]
        wt = worktree("revert", bad)
        name = f"{bad[:12]} with {first[:12]} reverted"
        rv = runner.run(["git", *GIT_ID, "-C", str(wt), "revert", "--no-edit", first],
                        timeout=600)
        if rv.returncode != 0:
            runner.run(["git", "-C", str(wt), "revert", "--abort"], timeout=60)
            checks.append(Check(name, GOOD, unavailable=f"git revert of {first[:12]} does "
                                                        f"not apply on {bad[:12]}"))
        else:
            checks.append(check_for(name, GOOD, wt))
        return confirm(checks, runs)
    finally:
        for wt in made:
            runner.run(git + ["worktree", "remove", "--force", str(wt)], timeout=120)
