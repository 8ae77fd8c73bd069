"""CLI: `suites` lists the suite files and checks them against the schema."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from .conditions import ACCELS, JobFacts
from .selection import select, tree_deny
from .suite import list_suites, load_suite


def register(subparsers) -> None:
    p = subparsers.add_parser("suites", help="list and check selftest suites")
    p.add_argument("names", nargs="*", help="suite names or files (default: all shipped)")
    p.add_argument("--today", type=dt.date.fromisoformat,
                   help="date for deny-entry expiry (YYYY-MM-DD; default today)")
    p.add_argument("--tree", help="add this tree's deny list (patches/trees/TREE/tree.yaml)")
    p.add_argument("--accel", choices=ACCELS, help="the job's accelerator, for deny conditions")
    p.add_argument("--arch", default="x86_64", help="the job's arch (default x86_64)")
    p.add_argument("--toolchain", help="the job's toolchain (gcc, llvm, llvm-19)")
    p.set_defaults(func=cmd_suites)


def cmd_suites(args) -> int:
    targets = args.names or [str(p) for p in list_suites()]
    job = JobFacts(accel=args.accel, arch=args.arch, toolchain=args.toolchain)
    for name in targets:
        suite = load_suite(name)
        sel = select(suite, args.today, job=job, extra=tree_deny(args.tree, suite.runner))
        allow = ", ".join(sel.allow) if sel.allow else "(all)"
        print(f"{suite.name}: runner {suite.runner}, {len(sel.allow) or 'all'} tests, "
              f"test timeout {suite.test_timeout:g}s, suite timeout {suite.suite_timeout:g}s, "
              f"retries {suite.retries}, vm {suite.cpus} cpu {suite.memory}")
        if suite.description:
            print(f"  {suite.description}")
        print(f"  allow: {allow}")
        for d in sel.deny:
            print(f"  deny: {_entry(d)}")
        for d, why in sel.inactive:
            print(f"  not denied ({why}): {_entry(d)}")
        for w in sel.warnings:
            print(f"  warning: {w}", file=sys.stderr)
        print(f"  file: {Path(suite.source)}")
    return 0


def _entry(d) -> str:
    until = f" until {d.expires}" if d.expires else ""
    when = f" [{d.when}]" if str(d.when) else ""
    return f"{d.name}{when}{until}: {d.reason}"
