"""`python -m bench [--only N,M] [--repeat K]`: the entry point of `make bench`.

Like harness.py, this is a command-line entry point: it maps typed errors to exit
codes. Exit 0 when the bench ran to the end (a MISSED target is printed and
recorded, not an error), 1 when a measurement FAILED, 2 on bad usage. SIGTERM and
SIGHUP take the Ctrl-C path, so the harness processes it started are stopped."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from common.cli import run_guarded
from common.errors import EXIT_PASS, EXIT_TESTS_FAILED
from common.proc import Runner

from .m_shared import matrix_arg
from .run import ALL, BenchRequest, parse_only, run_bench


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench",
                                description="Measure what the harness costs and saves.")
    p.add_argument("--only", default=",".join(map(str, ALL)),
                   help="measurements to run, e.g. 7,1 (default: all, 1..11; 10 and 11 are a cold and a cached `make test`, hours on 2 cores)")
    p.add_argument("--repeat", type=int, default=3,
                   help="repeats of the cheap figures (default 3; parsing takes max(K, 5))")
    p.add_argument("--out", type=Path, default=None,
                   help="work dir for results, logs and the private cache (default bench/out)")
    p.add_argument("--json", type=Path, default=None, help="default bench/results.json")
    p.add_argument("--md", type=Path, default=None, help="default bench/results.md")
    p.add_argument("--shared-matrix", default="default",
                   help="measurement 9's matrix: 'default' (pipeline/matrices/default.yaml, "
                        "hours of kernel builds), 'fixture' (smoke-small.yaml) or a file")
    p.add_argument("-v", "--verbose", action="store_true", help="echo each command")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_guarded("bench", lambda: _run(args))


def _run(args) -> int:
    req = BenchRequest(only=parse_only(args.only), repeat=args.repeat,
                       shared_matrix=matrix_arg(args.shared_matrix))
    if args.out is not None:
        req.out = args.out.resolve()
    if args.json is not None:
        req.json_path = args.json.resolve()
    if args.md is not None:
        req.md_path = args.md.resolve()
    res = run_bench(req, Runner(verbose=args.verbose))
    failed = [f for f in res.figures if f.status == "failed"]
    return EXIT_TESTS_FAILED if failed else EXIT_PASS


if __name__ == "__main__":
    sys.exit(main())
