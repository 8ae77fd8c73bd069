"""CLI: bisect (patches of a revision, or revisions), bisect-commits, bisect-step,
revisions."""
from __future__ import annotations

import sys
import traceback
from dataclasses import replace
from pathlib import Path

from common.errors import EXIT_PASS, EXIT_TESTS_FAILED, HarnessError, UsageError
from common.fsutil import REPO_ROOT
from common.progress import Progress
from common.proc import Runner
from pipeline.cli import positive_int
from pipeline.job import add_job_args, spec_from_args, spec_to_argv, split_series
from results.store import default_root, new_run_id

from .criteria import parse_criterion

EXIT_BISECT_ABORT = 128
EXIT_INCONCLUSIVE = 8     # a culprit was found, its confirmation could not be judged


def _job_args(p) -> None:
    add_job_args(p)
    p.add_argument("--criterion", required=True,
                   help="test:NAME, warning:REGEX, splat:REGEX, boot or build")
    p.add_argument("--tries", type=positive_int, default=3,
                   help="runs of a failing step before it is called bad (default 3)")


def register(sub) -> None:
    p = sub.add_parser("bisect", help="find the first bad patch (SERIES@REV) or the first "
                                      "bad revision (SERIES --revs ...)")
    _job_args(p)
    p.add_argument("--revs", help="comma-separated revisions, oldest first (default: every "
                                  "revision with patches)")
    p.add_argument("--good", type=int, default=0,
                   help="patches known good (default 0: the base tree)")
    p.add_argument("--then-patches", action="store_true",
                   help="with --revs: then bisect, within the first bad revision, its "
                        "patches that differ from the last good one (range-diff)")
    _search_args(p)
    p.set_defaults(func=cmd_bisect)

    p = sub.add_parser("bisect-commits", help="git bisect run over base commits GOOD..BAD "
                                              "(with SERIES: the series applied on each)")
    p.add_argument("good")
    p.add_argument("bad")
    p.add_argument("--repo", type=Path, required=True,
                   help="a git checkout of the tree (it is bisected in place)")
    _job_args(p)
    _confirm_arg(p)
    p.set_defaults(func=cmd_bisect_commits)

    p = sub.add_parser("bisect-step", help="one `git bisect run` step (exit 0 good, 1 bad, "
                                           "125 skip, 128 abort)")
    _job_args(p)
    p.set_defaults(func=cmd_bisect_step)

    p = sub.add_parser("revisions", help="every revision of a series side by side")
    add_job_args(p)
    p.set_defaults(func=cmd_revisions)


def _search_args(p) -> None:
    from .bayes import DEFAULT_CONFIDENCE, DEFAULT_MAX_RUNS
    p.add_argument("--flake-rate", type=float, default=None, metavar="P",
                   help="the criterion is flaky: a bad step fails with probability P; "
                        "the search becomes probabilistic (default: not flaky)")
    p.add_argument("--false-fail-rate", type=float, default=0.0, metavar="Q",
                   help="with --flake-rate or --measure-flakiness: a good step fails "
                        "with probability Q (default 0)")
    p.add_argument("--measure-flakiness", type=int, default=0, metavar="K",
                   help="run the bad end K times to estimate the flake rate, then search "
                        "probabilistically")
    p.add_argument("--confidence", type=float, default=DEFAULT_CONFIDENCE,
                   help=f"stop when one candidate holds this probability (default "
                        f"{DEFAULT_CONFIDENCE})")
    p.add_argument("--max-runs", type=int, default=DEFAULT_MAX_RUNS,
                   help=f"run budget of the probabilistic search (default {DEFAULT_MAX_RUNS})")
    _confirm_arg(p)


def _confirm_arg(p) -> None:
    p.add_argument("--confirm", type=int, default=3, metavar="N",
                   help="rerun the culprit, the last good step and the bad end without the "
                        "culprit N times each (default 3; 0: do not confirm)")


def search_options(args):
    """SearchOptions from the bisect flags; bad values are usage errors."""
    from .bayes import FlakeModel
    from .flow import SearchOptions
    if args.flake_rate is not None and args.measure_flakiness:
        raise UsageError("give --flake-rate or --measure-flakiness, not both")
    if args.measure_flakiness < 0 or args.max_runs < 1 or args.confirm < 0:
        raise UsageError("--measure-flakiness and --confirm cannot be negative; "
                         "--max-runs must be at least 1")
    if not 0 < args.confidence < 1 or not 0 <= args.false_fail_rate < 1:
        raise UsageError("--confidence must be between 0 and 1, --false-fail-rate in [0, 1)")
    flake = None
    if args.flake_rate is not None:
        try:
            flake = FlakeModel(args.flake_rate, args.false_fail_rate)
        except ValueError as e:
            raise UsageError(f"--flake-rate/--false-fail-rate: {e}") from None
    return SearchOptions(tries=args.tries, flake=flake, measure=args.measure_flakiness,
                         false_fail=args.false_fail_rate, confidence=args.confidence,
                         max_runs=args.max_runs, confirm=args.confirm)


def bisect_exit(result, conf) -> int:
    """0 found (and confirmed when confirmed at all), 1 not found or unconfirmed,
    8 found but its confirmation could not be judged."""
    from .confirm import INCONCLUSIVE, UNCONFIRMED
    if result.status != "found" or (conf is not None and conf.verdict == UNCONFIRMED):
        return EXIT_TESTS_FAILED
    return EXIT_INCONCLUSIVE if conf is not None and conf.verdict == INCONCLUSIVE else EXIT_PASS


def _runner_and_root(args):
    return Runner(verbose=args.verbose), args.results or default_root()


def _run_spec(args, kind: str = "bisect", criterion=None):
    """run(spec) -> JobOutcome for each step; with a criterion, only the stages it
    needs run (a warning step stops after the build)."""
    from pipeline.run import run_job
    from pipeline.stages import STAGES
    runner, root = _runner_and_root(args)
    progress = Progress()
    run_id = new_run_id(kind)
    stages = criterion.stages(STAGES) if criterion is not None else STAGES

    def run(spec):
        return run_job(spec, stages, runner, progress, root, run_id=run_id)
    return run, Path(root) / run_id


def _checked(spec):
    """Check the job's inputs once before the first step (every error at once)."""
    from pipeline.check import check_job
    check_job(spec)
    return spec


def cmd_bisect(args) -> int:
    from .drivers import bisect_patches, bisect_revisions
    from .revisions import revisions_with_patches
    if not args.series or args.base_only:
        raise UsageError("bisect needs SERIES@REV (patches) or SERIES --revs (revisions)")
    crit = parse_criterion(args.criterion)
    opts = search_options(args)
    name, rev = split_series(args.series)
    base = spec_from_args(args)
    if args.then_patches and (args.good or (rev and not args.revs)):
        raise UsageError("--then-patches goes with a bisect over revisions (SERIES --revs "
                         "...), without --good: the range-diff says which patches to bisect")
    if rev and not args.revs:
        _checked(base)
    else:
        revs = args.revs.split(",") if args.revs else revisions_with_patches(name)
        if len(revs) < 2:
            raise UsageError(f"a bisect over revisions needs two or more (a good and a bad "
                             f"one); {name} gives {', '.join(revs) or 'none with patches'}",
                             hint=f"to bisect the patches of one revision: {name}@REV")
        for r in revs:
            _checked(replace(base, rev=r))
    run, out = _run_spec(args, criterion=crit)
    out.mkdir(parents=True, exist_ok=True)
    if rev and not args.revs:
        result, _, summary, conf = bisect_patches(name, rev, crit, run, base, out, opts,
                                                  args.good)
    elif args.then_patches:
        return _two_levels(name, revs, crit, run, base, out, args, opts)
    else:
        result, _, summary, conf, _ = bisect_revisions(name, revs, crit, run, base, out,
                                                       Runner(verbose=args.verbose), opts)
    print(summary)
    print(f"bisect log: {out / 'bisect.log'}")
    return bisect_exit(result, conf)


def _two_levels(name, revs, crit, run, base, out: Path, args, opts) -> int:
    """--then-patches: the exit code is the worse of the two levels' (1 over 8 over 0);
    a patch level with nothing to bisect leaves the revision level's."""
    from .nested import bisect_two_levels
    two = bisect_two_levels(name, revs, crit, run, base, out, Runner(verbose=args.verbose),
                            opts)
    print(two.summary)
    print(f"bisect log: {out / 'bisect.log'}")
    codes = [bisect_exit(two.revisions.result, two.revisions.conf)]
    if two.patches is not None:
        codes.append(bisect_exit(two.patches.result, two.patches.conf))
    return next((c for c in (EXIT_TESTS_FAILED, EXIT_INCONCLUSIVE) if c in codes), EXIT_PASS)


def step_argv(spec, criterion: str, tries: int, results: Path) -> list[str]:
    """The `git bisect run` command: bisect-step with every option a step forwards,
    derived from the job option table."""
    return [sys.executable, str(REPO_ROOT / "harness.py"), "bisect-step",
            "--criterion", criterion, "--tries", str(tries), "--results", str(results),
            *spec_to_argv(spec, step=True)]


def cmd_bisect_commits(args) -> int:
    from .drivers import bisect_commits
    parse_criterion(args.criterion)
    repo = args.repo.resolve()
    spec = _checked(replace(spec_from_args(args, need_series=False), worktree=str(repo)))
    runner, root = _runner_and_root(args)
    out = Path(root) / new_run_id("bisect-commits")
    out.mkdir(parents=True, exist_ok=True)
    step = step_argv(spec, args.criterion, args.tries, out / "steps")
    first, log = bisect_commits(repo, args.good, args.bad, step, runner, out)
    print(log)
    conf = _confirm_commit(args, spec, repo, first, runner, out) if first else None
    word = "" if conf is None or conf.verdict == "confirmed" else f" ({conf.verdict})"
    print(f"first bad commit{word}: {first}" if first else "no first bad commit found")
    print(f"bisect log: {out / 'bisect.log'}")
    return bisect_exit(_Found(first), conf)


class _Found:
    def __init__(self, first):
        self.status = "found" if first else "not-found"


def _confirm_commit(args, spec, repo: Path, first: str, runner, out: Path):
    """Rerun the culprit, its parent and the bad end with it reverted; append the
    verdict to bisect.log, write bisect.json."""
    from common.fsutil import write_json
    from .confirm import Check
    from .drivers import BisectLog, confirm_commit, judged_once
    if args.confirm < 1:
        return None
    crit = parse_criterion(args.criterion)
    run, _ = _run_spec(args, "bisect-confirm", criterion=crit)
    log = BisectLog("")

    def check_for(name: str, expect: str, wt: Path) -> Check:
        return Check(name, expect, judged_once(crit, run, replace(spec, worktree=str(wt)),
                                               name, log))
    conf = confirm_commit(repo, args.bad, first, runner, out, args.confirm, check_for)
    text = "\n".join(log.lines + conf.lines())
    with open(out / "bisect.log", "a") as f:
        f.write("\n" + text + "\n")
    write_json(out / "bisect.json", {"first_bad": first, "confirmation": conf.to_dict()})
    print(text)
    return conf


def cmd_bisect_step(args) -> int:
    """Never raises: git bisect run reads only the exit code. Anything that is not
    a verdict of the criterion (bad input, a harness bug, an infrastructure
    failure) aborts the bisect (128) rather than calling a commit good or bad."""
    from .core import evaluate_with_tries
    from .drivers import judge_outcome, step_exit_code
    try:
        crit = parse_criterion(args.criterion)
        spec = spec_from_args(args, need_series=False)
        if not spec.worktree:
            raise UsageError("bisect-step needs --worktree (the checkout git bisect moves)")
        _checked(spec)
        run, _ = _run_spec(args, criterion=crit)
        v = evaluate_with_tries(lambda: judge_outcome(crit, run(spec))[0], args.tries)
    except HarnessError as e:
        print(f"bisect-step: abort: {e}", file=sys.stderr)
        return EXIT_BISECT_ABORT
    except Exception as e:  # noqa: BLE001 - a harness bug is never a verdict
        traceback.print_exc()
        print(f"bisect-step: abort: harness error: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_BISECT_ABORT
    print(f"bisect-step: {v.verdict} {v.counts()}")
    if v.verdict == "flaky":
        print("bisect-step: flaky step: aborting rather than guessing", file=sys.stderr)
        return EXIT_BISECT_ABORT
    return step_exit_code(v.verdict)


def cmd_revisions(args) -> int:
    from .revisions import revisions_table
    if not args.series:
        raise UsageError("revisions needs SERIES")
    name, _ = split_series(args.series)
    run, out = _run_spec(args, "revisions")
    return revisions_table(name, spec_from_args(args), run, out, Runner(verbose=args.verbose))
