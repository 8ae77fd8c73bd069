"""CLI: run (one job), matrix (many), merge (shard results into one report)."""
from __future__ import annotations

import json
from pathlib import Path

from common.errors import EXIT_PASS, EXIT_TESTS_FAILED, UsageError
from common.progress import Progress
from common.proc import Runner
from results.store import default_root, new_run_id

from .job import DEFAULT_PROFILE, DEFAULT_TOOLCHAIN, DEFAULT_TREE, JobSpec
from .matrix import load_matrix, parse_shard, shard, split_series


def add_job_args(p, series_optional: bool = True) -> None:
    p.add_argument("series", nargs="?" if series_optional else None,
                   help="SERIES[@REV]; a bare name means its newest revision with patches")
    p.add_argument("--base-only", action="store_true", help="run the tree as-is")
    p.add_argument("--tree", default=DEFAULT_TREE, help=f"tree name (default {DEFAULT_TREE})")
    p.add_argument("--profile", default=DEFAULT_PROFILE,
                   help=f"config profile (default {DEFAULT_PROFILE})")
    p.add_argument("--fragment", action="append", default=[], help="extra config fragment")
    p.add_argument("--toolchain", default=DEFAULT_TOOLCHAIN, choices=["gcc", "llvm", "llvm-19"])
    p.add_argument("--suite", action="append", default=[],
                   help="suite name or file (repeatable; default: the series' suite + smoke)")
    p.add_argument("--accel", choices=["kvm", "tcg"], help="override the KVM probe")
    p.add_argument("--upto", type=int, help="apply only the first K patches")
    p.add_argument("--rebuild", action="store_true", help="ignore cached builds")
    p.add_argument("--allow-drop", action="append", default=[], metavar="SYM",
                   help="accept that olddefconfig drops SYM")
    p.add_argument("--make-flag", action="append", default=[], help="e.g. W=1 or C=1")
    p.add_argument("--target", action="append", default=[], help="extra make target")
    p.add_argument("--results", type=Path, default=None, help="results root (default results/)")


def spec_from_args(args) -> JobSpec:
    if args.base_only == bool(args.series):
        raise UsageError("give SERIES[@REV] or --base-only (exactly one)")
    spec = JobSpec(tree=args.tree, profile=args.profile, fragments=args.fragment,
                   toolchain=args.toolchain, suites=args.suite, accel=args.accel,
                   upto=args.upto, rebuild=args.rebuild, allow_drop=args.allow_drop,
                   make_flags=args.make_flag, targets=args.target)
    if args.series:
        spec.series, spec.rev = split_series(args.series)
    return spec


def register(sub) -> None:
    p = sub.add_parser("run", help="apply, configure, build, boot and test one job")
    add_job_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("matrix", help="run the jobs of a matrix file, sharing builds")
    p.add_argument("file", type=Path)
    p.add_argument("--shard", help="I/N: run only shard I of N (job j goes to j mod N + 1)")
    p.add_argument("--jobs", type=int, default=1, help="VMs in parallel (builds stay serial)")
    p.add_argument("--results", type=Path, default=None)
    p.add_argument("--no-compare-base", dest="compare_base", action="store_false",
                   help="do not compare each series job with the matrix's base job")
    p.set_defaults(func=cmd_matrix)

    p = sub.add_parser("merge", help="join shard results into one report")
    p.add_argument("dirs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_merge)


def cmd_run(args) -> int:
    from .run import run_job
    from .stages import STAGES
    spec = spec_from_args(args)
    out = run_job(spec, STAGES, Runner(verbose=args.verbose), Progress(),
                  args.results or default_root(), argv=None)
    from results.report import text_report
    print(text_report([out.summary]), end="")
    print(f"results: {out.path}")
    return out.exit_code


def cmd_matrix(args) -> int:
    from .multi import run_matrix
    specs = load_matrix(args.file)
    if args.shard:
        i, n = parse_shard(args.shard)
        specs = shard(specs, i, n)
    root = args.results or default_root()
    run_id = new_run_id(args.file.stem + (f"-shard{args.shard.replace('/', 'of')}"
                                          if args.shard else ""))
    return run_matrix(specs, root, run_id, Runner(verbose=args.verbose), Progress(),
                      jobs=args.jobs, compare_base=args.compare_base)


def cmd_merge(args) -> int:
    from .multi import merge_runs
    code = merge_runs(args.dirs, args.out)
    print(f"merged report: {args.out}")
    return code
