"""CLI: b4-check (b4's review-perpatch-check-cmd / review-series-check-cmd)."""
from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

from common.errors import EXIT_PASS
from common.fsutil import REPO_ROOT

DEFAULT_MATRIX = REPO_ROOT / "pipeline" / "matrices" / "default.yaml"


def register(sub) -> None:
    p = sub.add_parser("b4-check", help="b4 review check: read a patch or cover letter on "
                                         "stdin, print b4's JSON array of results")
    p.add_argument("--series-level", action="store_true",
                   help="the message stands for the whole series (review-series-check-cmd)")
    p.add_argument("--matrix", type=Path, default=DEFAULT_MATRIX,
                   help="the matrix whose jobs test a series (default: the main job's)")
    p.add_argument("--results", type=Path, help="results root (default: results/runs or "
                                                "$HARNESS_RESULTS)")
    p.add_argument("--run", action="store_true",
                   help="run the matrix's jobs for the revision (and its baseline) when no "
                        "finished result has the same inputs")
    p.set_defaults(func=cmd_b4_check)


def _runner(root: Path):
    def run(specs) -> None:
        from common.progress import Progress
        from common.proc import Runner
        from pipeline.check import check_jobs
        from pipeline.multi import run_matrix
        from results.store import new_run_id
        plans = check_jobs(list(specs))
        with contextlib.redirect_stdout(sys.stderr):   # stdout is b4's JSON only
            run_matrix(plans, root, new_run_id("b4-check"), Runner(), Progress(sys.stderr))
    return run


def cmd_b4_check(args) -> int:
    from results.store import default_root

    from .b4check import check
    root = args.results or default_root()
    out = check(sys.stdin.buffer.read(), series_level=args.series_level, matrix=args.matrix,
                root=root, run=_runner(root) if args.run else None)
    print(json.dumps(out, indent=2))
    return EXIT_PASS
