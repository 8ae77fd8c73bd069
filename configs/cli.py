"""`harness.py config`: merge fragments, olddefconfig, verify."""
from __future__ import annotations

import sys
from pathlib import Path

from common.proc import Runner

from .profiles import list_fragments, list_profiles
from .stage import ConfigRequest, make_config


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "config", help="make a verified .config from a profile and fragments",
        description="Merge fragments in order (later wins), run olddefconfig, then check "
                    "every requested symbol against the final .config.")
    p.add_argument("--tree", required=True, type=Path, help="kernel source tree")
    p.add_argument("--profile", help=f"one of: {', '.join(list_profiles())}")
    p.add_argument("--base", help="base make target when no profile (tinyconfig, defconfig)")
    p.add_argument("--fragment", action="append", default=[], metavar="F",
                   help=f"extra fragment, after the profile's (known: "
                        f"{', '.join(list_fragments())}; or a path, or tree:<path>)")
    p.add_argument("--llvm", nargs="?", const="1", default=None, metavar="SUFFIX",
                   help="LLVM=1, or LLVM=<SUFFIX> such as -19")
    p.add_argument("--arch", default="x86_64")
    p.add_argument("--allow-drop", action="append", default=[], metavar="SYM",
                   help="accept that CONFIG_SYM ends up other than requested")
    p.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="template parameter (e.g. debug=2)")
    p.add_argument("-O", "--build-dir", required=True, type=Path, dest="build_dir")
    p.add_argument("--results", type=Path, default=None,
                   help="results dir (default: <build dir>/config-results)")
    p.set_defaults(func=run)


def _params(pairs: list[str]) -> dict:
    out = {}
    for kv in pairs:
        k, sep, v = kv.partition("=")
        if not sep:
            from common.errors import UsageError
            raise UsageError(f"--param wants K=V, not {kv!r}")
        out[k] = int(v) if v.isdigit() else v
    return out


def run(args) -> int:
    req = ConfigRequest(
        tree=args.tree, build_dir=args.build_dir,
        results_dir=args.results or args.build_dir / "config-results",
        profile=args.profile, fragments=args.fragment, base=args.base, arch=args.arch,
        llvm=args.llvm, allow_drop=[s.removeprefix("CONFIG_") for s in args.allow_drop],
        params=_params(args.param))
    res = make_config(req, Runner(verbose=args.verbose))
    sys.stdout.write(res.report_txt.read_text())
    print(f"config: {res.config}")
    return 0
