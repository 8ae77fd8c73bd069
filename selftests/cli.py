"""CLI: `suites` lists the suite files and checks them against the schema."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from .selection import select
from .suite import list_suites, load_suite


def register(subparsers) -> None:
    p = subparsers.add_parser("suites", help="list and check selftest suites")
    p.add_argument("names", nargs="*", help="suite names or files (default: all shipped)")
    p.add_argument("--today", type=dt.date.fromisoformat,
                   help="date for deny-entry expiry (YYYY-MM-DD; default today)")
    p.set_defaults(func=cmd_suites)


def cmd_suites(args) -> int:
    targets = args.names or [str(p) for p in list_suites()]
    for name in targets:
        suite = load_suite(name)
        sel = select(suite, args.today)
        allow = ", ".join(sel.allow) if sel.allow else "(all)"
        print(f"{suite.name}: runner {suite.runner}, {len(sel.allow) or 'all'} tests, "
              f"test timeout {suite.test_timeout:g}s, suite timeout {suite.suite_timeout:g}s, "
              f"retries {suite.retries}, vm {suite.cpus} cpu {suite.memory}")
        if suite.description:
            print(f"  {suite.description}")
        print(f"  allow: {allow}")
        for d in sel.deny:
            until = f" until {d.expires}" if d.expires else ""
            print(f"  deny: {d.name}{until}: {d.reason}")
        for w in sel.warnings:
            print(f"  warning: {w}", file=sys.stderr)
        print(f"  file: {Path(suite.source)}")
    return 0
