#!/usr/bin/env python3
"""kharness: apply a kernel patch series, build it, boot it, run its selftests.

This file is only the CLI: argument parsing and the mapping of typed errors to
exit codes. Each stage package registers its own subcommands from its cli.py.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common.cli import run_guarded  # noqa: E402
from common.errors import EXIT_USAGE  # noqa: E402

# Modules whose register(subparsers) adds subcommands, in help order.
CLI_MODULES = [
    "pipeline.cli",     # run, matrix, merge
    "patches.cli",      # tree, series, fetch, apply, diff
    "configs.cli",      # config
    "kbuild.cli",       # build
    "vm.cli",           # boot, probe
    "selftests.cli",    # suites
    "results.cli",      # parse, report, compare
    "repro.cli",        # repro
    "bisection.cli",      # bisect, bisect-commits, revisions
    "review.cli",       # b4-check
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="harness.py",
        description="Kernel patch-series build and selftest harness.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="echo each command as it runs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in CLI_MODULES:
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and name.startswith(e.name):
                continue  # that stage has no CLI yet
            raise
        mod.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return run_guarded("harness", lambda: args.func(args))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit as e:
        # argparse exits 2 on usage errors, which matches EXIT_USAGE
        raise SystemExit(e.code if e.code is not None else EXIT_USAGE)
