"""CLI: bisect (patches of a revision, or revisions), bisect-commits, bisect-step,
revisions."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from common.errors import EXIT_PASS, EXIT_TESTS_FAILED, HarnessError, UsageError
from common.fsutil import REPO_ROOT
from common.progress import Progress
from common.proc import Runner
from results.store import default_root, new_run_id

from .criteria import parse_criterion


def _job_args(p) -> None:
    from pipeline.cli import add_job_args
    add_job_args(p)
    p.add_argument("--criterion", required=True,
                   help="test:NAME, warning:REGEX, splat:REGEX, boot or build")
    p.add_argument("--tries", type=int, default=3,
                   help="runs of a failing step before it is called bad (default 3)")


def register(sub) -> None:
    p = sub.add_parser("bisect", help="find the first bad patch (SERIES@REV) or the first "
                                      "bad revision (SERIES --revs ...)")
    _job_args(p)
    p.add_argument("--revs", help="comma-separated revisions, oldest first (default: every "
                                  "revision with patches)")
    p.add_argument("--good", type=int, default=0,
                   help="patches known good (default 0: the base tree)")
    p.set_defaults(func=cmd_bisect)

    p = sub.add_parser("bisect-commits", help="git bisect run over base commits GOOD..BAD")
    p.add_argument("good")
    p.add_argument("bad")
    p.add_argument("--repo", type=Path, required=True,
                   help="a git checkout of the tree (it is bisected in place)")
    _job_args(p)
    p.set_defaults(func=cmd_bisect_commits)

    p = sub.add_parser("bisect-step", help="one `git bisect run` step (exit 0 good, 1 bad, "
                                           "125 skip, 128 abort)")
    _job_args(p)
    p.add_argument("--worktree", required=True)
    p.set_defaults(func=cmd_bisect_step)

    p = sub.add_parser("revisions", help="every revision of a series side by side")
    from pipeline.cli import add_job_args
    add_job_args(p)
    p.set_defaults(func=cmd_revisions)


def _runner_and_root(args):
    return Runner(verbose=args.verbose), args.results or default_root()


def _run_spec(args, kind: str = "bisect"):
    from pipeline.run import run_job
    from pipeline.stages import STAGES
    runner, root = _runner_and_root(args)
    progress = Progress()
    run_id = new_run_id(kind)

    def run(spec):
        return run_job(spec, STAGES, runner, progress, root, run_id=run_id)
    return run, Path(root) / run_id


def _base_spec(args):
    from pipeline.cli import spec_from_args
    a = replace_args(args, series=args.series or None)
    return spec_from_args(a)


def replace_args(args, **kw):
    import argparse
    d = dict(vars(args))
    d.update(kw)
    return argparse.Namespace(**d)


def _revisions_with_patches(series: str) -> list[str]:
    from patches.manifest import find_series
    from patches.source import revision_status
    s = find_series(series)
    return [r.label for r in s.revisions if revision_status(s, r).state == "present"]


def cmd_bisect(args) -> int:
    from .drivers import bisect_patches, bisect_revisions
    from patches.manifest import parse_spec
    if not args.series:
        raise UsageError("bisect needs SERIES@REV (patches) or SERIES --revs (revisions)")
    crit = parse_criterion(args.criterion)
    name, rev = parse_spec(args.series)
    run, out = _run_spec(args)
    base = replace(_base_spec(args), series=name, rev=rev)
    out.mkdir(parents=True, exist_ok=True)
    if rev and not args.revs:
        result, _, summary = bisect_patches(name, rev, crit, run, base, out, args.tries,
                                            args.good)
    else:
        revs = args.revs.split(",") if args.revs else _revisions_with_patches(name)
        result, _, summary = bisect_revisions(name, revs, crit, run, base, out,
                                              Runner(verbose=args.verbose), args.tries)
    print(summary)
    print(f"bisect log: {out / 'bisect.log'}")
    return EXIT_PASS if result.status == "found" else EXIT_TESTS_FAILED


def cmd_bisect_commits(args) -> int:
    from .drivers import bisect_commits
    parse_criterion(args.criterion)
    runner, root = _runner_and_root(args)
    out = Path(root) / new_run_id("bisect-commits")
    out.mkdir(parents=True, exist_ok=True)
    step = [sys.executable, str(REPO_ROOT / "harness.py"), "bisect-step",
            "--worktree", str(args.repo.resolve()), "--criterion", args.criterion,
            "--tries", str(args.tries), "--base-only", "--tree", args.tree,
            "--profile", args.profile, "--toolchain", args.toolchain,
            "--results", str(out / "steps")]
    for s in args.suite:
        step += ["--suite", s]
    if args.accel:
        step += ["--accel", args.accel]
    first, log = bisect_commits(args.repo.resolve(), args.good, args.bad, step, runner, out)
    print(log)
    print(f"first bad commit: {first}" if first else "no first bad commit found")
    print(f"bisect log: {out / 'bisect.log'}")
    return EXIT_PASS if first else EXIT_TESTS_FAILED


def cmd_bisect_step(args) -> int:
    """Never raises: git bisect run reads only the exit code."""
    from .core import evaluate_with_tries
    from .drivers import judge_outcome, step_exit_code
    try:
        crit = parse_criterion(args.criterion)
        run, _ = _run_spec(args)
        spec = replace(_base_spec(replace_args(args, base_only=True, series=None)),
                       worktree=args.worktree)
        v = evaluate_with_tries(lambda: judge_outcome(crit, run(spec))[0], args.tries)
    except HarnessError as e:
        print(f"bisect-step: abort: {e}", file=sys.stderr)
        return 128
    print(f"bisect-step: {v.verdict} {v.counts()}")
    if v.verdict == "flaky":
        print("bisect-step: flaky step: aborting rather than guessing", file=sys.stderr)
        return 128
    return step_exit_code(v.verdict)


def cmd_revisions(args) -> int:
    from .revisions import revisions_table
    if not args.series:
        raise UsageError("revisions needs SERIES")
    run, out = _run_spec(args, "revisions")
    return revisions_table(args.series.split("@")[0], _base_spec(args), run, out,
                           Runner(verbose=args.verbose))
