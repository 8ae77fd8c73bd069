"""`harness.py build`: build a kernel from a tree and a final .config."""
from __future__ import annotations

from pathlib import Path

from common.progress import Progress
from common.proc import Runner

from .build import BuildRequest, build_kernel


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "build", help="build a kernel (keyed cache, ccache, warnings)",
        description="Build with make O=<family build dir>; reuse the artifacts when the "
                    "key (tree commit, .config, toolchain, flags) matches a finished build.")
    p.add_argument("--tree", required=True, type=Path)
    p.add_argument("--config", required=True, type=Path, help="final .config (config stage)")
    p.add_argument("--family", default="custom",
                   help="config family (profile name) for the persistent build dir")
    p.add_argument("--tree-name", default=None)
    p.add_argument("--toolchain", default="gcc", help="gcc, llvm or llvm-19")
    p.add_argument("--arch", default="x86_64")
    p.add_argument("-j", "--jobs", type=int, default=0)
    p.add_argument("--W1", action="store_true", dest="w1", help="make W=1")
    p.add_argument("--sparse", action="store_true", help="make C=1")
    p.add_argument("--target", action="append", default=[],
                   help="build only this make target (e.g. fs/namei.o); repeatable")
    p.add_argument("--no-ccache", action="store_false", dest="ccache")
    p.add_argument("--no-cache", action="store_false", dest="use_cache",
                   help="build even when a finished build has the same key")
    p.add_argument("--base-warnings", type=Path, default=None,
                   help="the base build's warnings: a job dir, its build/ dir, an artifacts "
                        "dir, or the warnings.json of any of them")
    p.add_argument("--results", type=Path, default=None)
    p.set_defaults(func=run)

    p = subparsers.add_parser(
        "cache", help="the build cache: move finished builds between machines by key "
                      "(export, import), keep it within a size (gc)",
        description="A CI cache or artifact step carries an exported build to another "
                    "machine; an import checks every file against the export's manifest "
                    "and the build's key before the cache uses it.")
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION")
    sub.required = True
    e = sub.add_parser("export", help="copy the finished build KEY to DIR/KEY")
    e.add_argument("key", help="a build key (or a unique prefix of 8+ characters)")
    e.add_argument("dir", type=Path)
    e.set_defaults(func=cmd_cache_export)
    i = sub.add_parser("import", help="check and store the exported builds in DIR")
    i.add_argument("dir", type=Path, help="an exported build dir, or a dir of them")
    i.set_defaults(func=cmd_cache_import)
    g = sub.add_parser("gc", help="evict least recently used finished builds, worktrees "
                                  "and family build dirs (never one in use) until the "
                                  "cache is within its size",
                       description="Counts and evicts finished builds (kbuild/artifacts), "
                                   "worktrees (worktrees/, through git worktree remove) and "
                                   "the families' build dirs (kbuild/obj), least recently "
                                   "used first; anything a running job holds stays. "
                                   "Imported trees (trees/) stay unless --trees.")
    g.add_argument("--max-size", metavar="SIZE", default=None,
                   help="the limit, like 20G or 500M; 0 removes everything not in use "
                        "(default $HARNESS_CACHE_MAX_SIZE, else 20G)")
    g.add_argument("--trees", action="store_true",
                   help="imported trees count and may go too (each with its worktrees, "
                        "only when none is in use); a job imports a defined tree "
                        "(patches/trees/) again, any other one needs `tree import`")
    g.add_argument("--dry-run", action="store_true",
                   help="say what would be removed (and what is in use), remove nothing")
    g.set_defaults(func=cmd_cache_gc)


def run(args) -> int:
    req = BuildRequest(tree=args.tree, config=args.config, results_dir=args.results,
                       tree_name=args.tree_name, config_family=args.family,
                       toolchain=args.toolchain, arch=args.arch, jobs=args.jobs, w1=args.w1,
                       sparse=args.sparse, targets=args.target, ccache=args.ccache,
                       base_warnings=args.base_warnings, use_cache=args.use_cache)
    res = build_kernel(req, Runner(verbose=args.verbose), Progress())
    print(f"key: {res.key}\ncached: {res.cached}\nartifacts: {res.artifacts_dir}")
    if res.bzimage:
        print(f"bzImage: {res.bzimage}")
    print(f"warnings: {len(res.warnings)} ({len(res.new_warnings)} new)")
    for w in res.new_warnings:
        print(">> " + w.text())
    return 0


def cmd_cache_export(args) -> int:
    from .cache import export_build
    out = export_build(args.key, args.dir)
    print(f"exported: {out.name}\n{out}")
    return 0


def cmd_cache_import(args) -> int:
    from .cache import artifacts_root, import_builds
    for key in import_builds(args.dir):
        print(f"imported: {key} -> {artifacts_root() / key}")
    return 0


def cmd_cache_gc(args) -> int:
    from common.fsutil import cache_dir
    from .cache import gc, human, max_size
    res = gc(max_size(args.max_size), trees=args.trees, dry=args.dry_run)
    verb = "would go:" if args.dry_run else "removed:"
    for e in res.removed:
        print(f"{verb} {e.label} {human(e.size)} (last used {_when(e)})")
    for e in res.in_use:
        print(f"kept:    {e.label} {human(e.size)} (in use by a running job)")
    print(f"cache {cache_dir()}: {human(res.before)} -> {human(res.after)} "
          f"(limit {human(res.limit)}, {len(res.removed)} "
          f"{'would go' if args.dry_run else 'removed'}) counting builds, "
          f"worktrees, build dirs{', imported trees' if args.trees else ''}")
    for line in _not_counted(args.trees):
        print(line)
    return 0


def _when(e) -> str:
    import datetime
    if not e.finished:
        return "unfinished"
    return datetime.datetime.fromtimestamp(e.last_used).strftime("%Y-%m-%d %H:%M")


def _not_counted(trees: bool) -> list[str]:
    """What else the cache holds: imported trees (unless --trees), and the dirs gc
    never touches (ccache keeps to its own limit)."""
    from common.fsutil import cache_dir
    from patches.treeimport import trees_dir
    from .cache import du, human
    root = trees_dir()
    out = [] if trees else [f"not counted: imported trees "
                            f"{human(du(root)) if root.is_dir() else '0B'} "
                            f"({root}; kept unless --trees)"]
    others = [(d.name, du(d)) for d in sorted(cache_dir().glob("*")) if d.is_dir() and
              d.name not in ("kbuild", "worktrees", "trees")]
    others = [f"{name} {human(n)}" + (" (its own limit)" if name == "ccache" else "")
              for name, n in others if n >= 1 << 20]
    if others:
        out.append("not counted either (gc never removes them): " + ", ".join(others))
    return out
