"""CLI: repro REPORT — parse a robot report, plan the run, run it, judge it."""
from __future__ import annotations

import json
from pathlib import Path

from common.errors import EXIT_PASS

from .plan import REPRO_OPTIONS
from .report import load_report


def register(sub) -> None:
    p = sub.add_parser("repro", help="reproduce a kernel test robot report from its email")
    p.add_argument("report", type=Path, help=".eml, mbox, or text pasted from an archive")
    p.add_argument("--parse-only", action="store_true",
                   help="print the parsed report and run nothing")
    p.add_argument("--json", action="store_true", help="with --parse-only: JSON output")
    p.add_argument("--series", help="SERIES@REV when the report's patch is not in patches/")
    p.add_argument("--config", type=Path, help="the report's kernel config file: the whole "
                                               ".config (default: 'config' beside the report)")
    p.add_argument("--against", help="SERIES@REV: check whether this revision still shows it")
    p.add_argument("--results", type=Path, default=None)
    add_job_options(p)
    p.set_defaults(func=cmd_repro)


HELP = {"profile": "use this config profile instead of the report's config (stated as a "
                   "substitution in the verdict)",
        "arch": "build this kernel ARCH instead of the report's (stated)",
        "toolchain": "gcc, llvm or llvm-NN instead of the report's compiler (stated)",
        "tree": "tree to build (default: the revision's base)"}


def add_job_options(p) -> None:
    """The REPRO_OPTIONS rows of pipeline.job.OPTIONS as flags; an option not given
    is None (lists: empty), so the plan knows what the user asked for."""
    from pipeline.job import FLAG, LIST, OPTIONS
    for o in OPTIONS:
        if o.field not in REPRO_OPTIONS:
            continue
        text = HELP.get(o.field, o.help)
        if o.kind == FLAG:
            p.add_argument(o.flag, dest=o.field, action="store_true", help=text)
        elif o.kind == LIST:
            p.add_argument(o.flag, dest=o.field, action="append", default=[], help=text,
                           metavar=o.metavar)
        else:
            p.add_argument(o.flag, dest=o.field, default=None, choices=o.choices, help=text,
                           metavar=o.metavar)


def render_report(rep) -> str:
    lines = [f"kind: {rep.kind} ({rep.headline})"]
    for key in ("reminder", "message_id", "patch_message_id", "patch_subject", "tree", "head",
                "base", "config_name", "config_url", "reproduce_url", "commit",
                "commit_subject", "make_compiler", "testcase", "test_machine"):
        val = getattr(rep, key)
        if val:
            lines.append(f"{key}: {val}")
    if rep.compiler:
        lines.append(f"compiler: {rep.compiler.name} {rep.compiler.version or '?'}"
                     + (f" (cross: {rep.compiler.cross_prefix})" if rep.compiler.cross_prefix
                        else ""))
    if rep.arch:
        lines.append(f"arch: {rep.arch}")
    lines += [f"parameter {k}: {v}" for k, v in rep.params.items()]
    if rep.machine_cpus or rep.machine_memory:
        lines.append(f"machine: {rep.machine_cpus or '?'} CPUs, "
                     f"{rep.machine_memory or '?'} memory")
    if rep.cmdline:
        lines.append(f"kernel command line: {rep.cmdline}")
    lines += [f"failing test: {t}" for t in rep.failing_tests]
    if rep.make_flags or rep.make_targets:
        lines.append(f"make: {' '.join(rep.make_flags)} {' '.join(rep.make_targets)}".rstrip())
    lines += [f"tested on: {t}" for t in rep.tested_on]
    lines += [f"Reported-by: {t}" for t in rep.reported_by]
    lines += [f"Closes: {t}" for t in rep.closes]
    lines += [d.render() for d in rep.diagnostics]
    lines += [f"splat [{s.fingerprint[:12]}] {s.kind}: {s.title}" for s in rep.splats]
    lines += [f"unparsed line {n}: {t}" for n, t in rep.unparsed]
    return "\n".join(lines)


def cmd_repro(args) -> int:
    rep = load_report(args.report)
    if args.parse_only:
        print(json.dumps(rep.to_dict(), indent=2) if args.json else render_report(rep))
        return EXIT_PASS
    from .run import reproduce
    return reproduce(rep, args)
