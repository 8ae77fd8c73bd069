"""CLI: run (one job), matrix (many), merge (shard results into one report)."""
from __future__ import annotations

import argparse
from pathlib import Path

from common.errors import EXIT_PASS, UsageError
from common.progress import Progress
from common.proc import Runner
from results.store import default_root, new_run_id

from .job import add_job_args, spec_from_args
from .matrix import load_matrix_jobs


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (0 or less is a usage error, exit 2)."""
    try:
        val = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if val < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {val}")
    return val


def register(sub) -> None:
    p = sub.add_parser("run", help="apply, configure, build, boot and test one job")
    add_job_args(p)
    p.add_argument("--check", action="store_true",
                   help="check every input and print the resolved job; build nothing")
    _ccache_remote_arg(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("matrix", help="run the jobs of a matrix file, sharing builds")
    p.add_argument("file", type=Path)
    p.add_argument("--shard", help="I/N: run only shard I of N (1-based; base jobs first, "
                   "job k of that order goes to shard k mod N + 1); 'auto': shard "
                   "JOB_COMPLETION_INDEX+1 of --shards N (a Kubernetes Indexed Job)")
    p.add_argument("--shards", type=int, default=None,
                   help="the number of shards (--plan, --shard auto; default for --plan: "
                        "one per job; --shard auto also reads KHARNESS_SHARDS)")
    p.add_argument("--plan", action="store_true",
                   help="print the shard plan (shards, jobs, build-key inputs, CI cache "
                        "keys) for a CI engine; build nothing")
    p.add_argument("--format", choices=("json", "github", "k8s"), default="json",
                   help="--plan output: json (all of it), github (the matrix 'include' "
                        "for fromJSON), k8s (an Indexed Job's completions)")
    _ccache_remote_arg(p)
    p.add_argument("--jobs", type=positive_int, default=1,
                   help="VMs in parallel (builds stay serial)")
    p.add_argument("--results", type=Path, default=None)
    p.add_argument("--no-compare-base", dest="compare_base", action="store_false",
                   help="do not compare each series job with the matrix's base job")
    p.add_argument("--check", action="store_true",
                   help="check every job's inputs and print the resolved jobs; build nothing")
    p.set_defaults(func=cmd_matrix)

    p = sub.add_parser("merge", help="join shard results into one report")
    p.add_argument("dirs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_merge)


def plan_lines(plans) -> str:
    """One line per checked job: what it will run."""
    out = []
    for p in plans:
        if p.not_run:
            out.append(f"{p.spec.label()}: {p.not_run}")
            continue
        s = p.spec
        what = f"{s.series}@{s.rev}" if s.series else f"base {s.tree}"
        out.append(f"{s.label()}: {what}, profile {s.profile}, fragments "
                   f"[{', '.join(p.fragments)}], toolchain {p.toolchain.name}, make "
                   f"[{' '.join(p.make.flags)}], suites [{', '.join(x.name for x in p.suites)}]")
    return "\n".join(out)


def _ccache_remote_arg(p) -> None:
    p.add_argument("--ccache-remote", metavar="URL", default=None,
                   help="a ccache remote storage shared between machines (ccache 4.7: "
                        "redis://HOST:PORT, http://..., file:/PATH) for every compile; "
                        "default: $KHARNESS_CCACHE_REMOTE. Never part of a build key")


def _set_ccache_remote(args) -> str | None:
    """--ccache-remote is a machine-level setting: it goes into the environment every
    compile gets (kbuild.build.build_env), not into the job spec or its build key."""
    import os

    from kbuild.build import CCACHE_REMOTE_VAR, ccache_remote, check_ccache_remote
    if args.ccache_remote:
        os.environ[CCACHE_REMOTE_VAR] = check_ccache_remote(args.ccache_remote,
                                                            "--ccache-remote")
    return ccache_remote()


def cmd_run(args) -> int:
    from .check import check_job
    _set_ccache_remote(args)
    from .run import run_job
    from .stages import STAGES
    plan = check_job(spec_from_args(args))
    if args.check:
        print(plan_lines([plan]))
        print("check: ok")
        return EXIT_PASS
    out = run_job(plan, STAGES, Runner(verbose=args.verbose), Progress(),
                  args.results or default_root(), argv=None)
    from results.report import text_report
    print(text_report([out.summary]), end="")
    print(f"results: {out.path}")
    return out.exit_code


def cmd_matrix(args) -> int:
    from kbuild.build import redact_remote

    from .check import check_jobs
    from .multi import run_matrix
    from .plan import parse_shard, plan_id, render, shards
    jobs = load_matrix_jobs(args.file)
    plans = check_jobs([s for s, _ in jobs], [w for _, w in jobs])
    if args.plan:
        if args.shard:
            raise UsageError("--plan prints every shard; leave out --shard")
        print(render(plans, args.shards or len(plans), str(args.file), args.format))
        return EXIT_PASS
    meta = {}
    if args.shard:
        i, n = parse_shard(args.shard, args.shards)
        sh = shards(plans, n)[i - 1]
        meta["plan"] = {"id": plan_id(plans, n), "shard": sh.label, "index": sh.index,
                        "shards": n, "matrix": str(args.file),
                        "jobs": [p.spec.label() for p in sh.jobs]}
        plans = list(sh.jobs)
    elif args.shards is not None:
        raise UsageError("--shards goes with --plan or --shard")
    if args.check:
        print(plan_lines(plans))
        print(f"check: ok ({len(plans)} jobs)")
        return EXIT_PASS
    remote = _set_ccache_remote(args)
    if remote:
        meta["ccache_remote"] = redact_remote(remote)
    root = args.results or default_root()
    run_id = new_run_id(args.file.stem + (f"-shard{meta['plan']['shard'].replace('/', 'of')}"
                                          if args.shard else ""))
    return run_matrix(plans, root, run_id, Runner(verbose=args.verbose), Progress(),
                      jobs=args.jobs, compare_base=args.compare_base, meta=meta)


def cmd_merge(args) -> int:
    from .multi import merge_runs
    code = merge_runs(args.dirs, args.out)
    print(f"merged report: {args.out}")
    return code
