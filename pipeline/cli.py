"""CLI: run (one job), matrix (many), merge (shard results into one report)."""
from __future__ import annotations

from pathlib import Path

from common.errors import EXIT_PASS
from common.progress import Progress
from common.proc import Runner
from results.store import default_root, new_run_id

from .job import add_job_args, spec_from_args
from .matrix import load_matrix_jobs, parse_shard, shard


def register(sub) -> None:
    p = sub.add_parser("run", help="apply, configure, build, boot and test one job")
    add_job_args(p)
    p.add_argument("--check", action="store_true",
                   help="check every input and print the resolved job; build nothing")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("matrix", help="run the jobs of a matrix file, sharing builds")
    p.add_argument("file", type=Path)
    p.add_argument("--shard", help="I/N: run only shard I of N (job j goes to j mod N + 1)")
    p.add_argument("--jobs", type=int, default=1, help="VMs in parallel (builds stay serial)")
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


def cmd_run(args) -> int:
    from .check import check_job
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
    from .check import check_jobs
    from .multi import run_matrix
    jobs = load_matrix_jobs(args.file)
    if args.shard:
        i, n = parse_shard(args.shard)
        jobs = shard(jobs, i, n)
    plans = check_jobs([s for s, _ in jobs], [w for _, w in jobs])
    if args.check:
        print(plan_lines(plans))
        print(f"check: ok ({len(plans)} jobs)")
        return EXIT_PASS
    root = args.results or default_root()
    run_id = new_run_id(args.file.stem + (f"-shard{args.shard.replace('/', 'of')}"
                                          if args.shard else ""))
    return run_matrix(plans, root, run_id, Runner(verbose=args.verbose), Progress(),
                      jobs=args.jobs, compare_base=args.compare_base)


def cmd_merge(args) -> int:
    from .multi import merge_runs
    code = merge_runs(args.dirs, args.out)
    print(f"merged report: {args.out}")
    return code
