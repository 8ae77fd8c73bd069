"""CLI: tree import/list, series list/show, fetch, apply, diff."""
from __future__ import annotations

import sys
from pathlib import Path

from common.errors import EXIT_PASS, EXIT_USAGE, InputError
from common.proc import Runner


def register(sub) -> None:
    p = sub.add_parser("tree", help="import kernel trees, list them")
    tsub = p.add_subparsers(dest="tree_cmd", metavar="ACTION")
    tsub.required = True
    t = tsub.add_parser("import", help="import a .deb, tarball, .dsc, dir, git URL/checkout, "
                                       "or a defined tree (e.g. debian-6.12)")
    t.add_argument("source")
    t.add_argument("--ref", help="git ref (for git sources; default HEAD)")
    t.add_argument("--name", help="tree name (default: from the source)")
    t.set_defaults(func=cmd_tree_import)
    t = tsub.add_parser("list", help="imported trees and defined ones")
    t.set_defaults(func=cmd_tree_list)

    p = sub.add_parser("series", help="list series, show one")
    ssub = p.add_subparsers(dest="series_cmd", metavar="ACTION")
    ssub.required = True
    s = ssub.add_parser("list", help="every series with its revisions' status")
    s.set_defaults(func=cmd_series_list)
    s = ssub.add_parser("show", help="one series: revisions, bases, tests, status")
    s.add_argument("series")
    s.set_defaults(func=cmd_series_show)

    p = sub.add_parser("fetch", help="get a posting's patches by message-id (b4)")
    p.add_argument("spec", metavar="SERIES[@REV]")
    p.add_argument("--mbox", help="store this local mbox instead of asking lore")
    p.set_defaults(func=cmd_fetch)

    p = sub.add_parser("apply", help="apply SERIES@REV in its own worktree")
    p.add_argument("spec", metavar="SERIES@REV")
    p.add_argument("--tree", help="apply onto this tree's base instead")
    p.add_argument("--upto", type=int, metavar="K", help="apply the first K patches only")
    p.add_argument("--no-fixups", action="store_true", help="leave out the tree's fix-ups")
    p.set_defaults(func=cmd_apply)

    p = sub.add_parser("diff", help="git range-diff between two revisions")
    p.add_argument("series")
    p.add_argument("old", metavar="V1")
    p.add_argument("new", metavar="V2")
    p.add_argument("--tree")
    p.set_defaults(func=cmd_diff)


def _runner(args) -> Runner:
    return Runner(verbose=getattr(args, "verbose", False))


def cmd_tree_import(args) -> int:
    from .treeimport import ImportRequest, import_tree
    res = import_tree(ImportRequest(args.source, args.ref, args.name), _runner(args))
    what = "already imported" if res.reused else "imported"
    print(f"{res.name}: {what} ({res.kind}) {res.commit[:12]} tags {', '.join(res.tags)}")
    print(f"  repo: {res.repo}")
    for n in res.notes:
        print(f"  note: {n}")
    for s in res.series:
        print(f"  series: {s} (debian/patches)")
    return EXIT_PASS


def cmd_tree_list(args) -> int:
    from .treedefs import all_treedefs
    from .treeimport import list_trees
    have = {t.name: t for t in list_trees()}
    for t in have.values():
        print(f"{t.name:20} {t.commit[:12]} {','.join(t.tags):24} {t.kind}: {t.source}")
    for d in all_treedefs():
        if d.name not in have:
            print(f"{d.name:20} (not imported)  harness.py tree import {d.name}")
    return EXIT_PASS


def cmd_series_list(args) -> int:
    from .manifest import all_series
    from .source import revision_status
    errors: list[InputError] = []
    for s in all_series(errors):
        print(f"{s.name}: {s.title}")
        for r in s.revisions:
            print(f"  {r.label:14} {r.kind:8} {revision_status(s, r).text()}")
    for e in errors:
        print(f"harness: error: {e}", file=sys.stderr)
    return EXIT_USAGE if errors else EXIT_PASS


def cmd_series_show(args) -> int:
    from .manifest import find_series
    from .show import describe
    print(describe(find_series(args.series)), end="")
    return EXIT_PASS


def cmd_fetch(args) -> int:
    from .fetch import FetchRequest, fetch
    from .manifest import find_series, parse_spec
    name, rev = parse_spec(args.spec)
    series = find_series(name)
    if rev is None:
        from .source import find_source
        revs = [r.label for r in series.revisions
                if r.kind == "posting" and find_source(series, r) is None]
        if args.mbox:
            raise InputError("--mbox needs one revision: SERIES@REV")
    else:
        revs = [rev]
    for label in revs:
        res = fetch(FetchRequest(name, label, Path(args.mbox) if args.mbox else None),
                    _runner(args))
        print(f"{name}@{label}: {len(res.subjects)} patches ({res.method}) -> {res.mbox}")
    if not revs:
        print(f"{name}: every posting is fetched")
    return EXIT_PASS


def cmd_apply(args) -> int:
    from .apply import ApplyRequest, apply_series
    from .manifest import parse_spec
    name, rev = parse_spec(args.spec)
    if rev is None:
        raise InputError(f"apply needs SERIES@REV, got {args.spec!r}")
    res = apply_series(ApplyRequest(name, rev, args.tree, args.upto,
                                    fixups=not args.no_fixups), _runner(args))
    for note in res.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{name}@{rev} on {res.tree}@{res.base_ref}"
          f"{' (reused)' if res.reused else ''}: {res.worktree}")
    for rec in res.fixups:
        print(f"  fixup {rec.index}: {rec.status:5} {(rec.commit or '')[:12]} {rec.subject}")
    for rec in res.patches:
        print(f"  {rec.index:5}: {rec.status:5} {(rec.commit or '')[:12]} {rec.subject}")
    return EXIT_PASS


def cmd_diff(args) -> int:
    from .rangediff import RangeDiffRequest, range_diff
    res = range_diff(RangeDiffRequest(args.series, args.old, args.new, args.tree),
                     _runner(args))
    print(res.text, end="")
    return EXIT_PASS
