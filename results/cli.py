"""CLI: parse, report, compare."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from common.errors import EXIT_INFRA, EXIT_PASS, EXIT_TESTS_FAILED, InputError

from .store import find_jobs, load_job, write_text


def register(sub) -> None:
    p = sub.add_parser("parse", help="parse any raw log (KTAP/TAP, kselftest, test_progs, "
                                      "console) and print it as KTAP or JSON")
    p.add_argument("log", help="log file, or - for standard input")
    p.add_argument("--json", action="store_true", help="print JSON instead of KTAP")
    p.add_argument("--format", help="skip auto-detection (ktap, kselftest, test_progs, "
                                    "test_progs_json, console)")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("report", help="summary table of a run; writes report.html")
    p.add_argument("run", help="a run dir, a job dir, or results/")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="what changed from run A to run B (exit 1: B regressed; "
                                        "7: a job did not reach its tests, no verdict)")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("export", help="write a run's results in another format: --kcidb, "
                                       "a KCIDB JSON document for kci-dev submit")
    p.add_argument("run", help="a run dir, a job dir, or results/")
    p.add_argument("--kcidb", action="store_true", required=True,
                   help="KCIDB JSON (schema v5.3): checkout, builds, tests with log URLs")
    p.add_argument("--out", help="write the document here (default: standard output)")
    p.add_argument("--base-url", help="log URLs are this URL plus each file's path in the "
                                      "run dir (default: file:// URLs)")
    p.set_defaults(func=cmd_export)


def read_lines(path: str) -> list[str]:
    if path == "-":
        data = getattr(sys.stdin, "buffer", None)
        raw = data.read() if data is not None else sys.stdin.read().encode("utf-8", "replace")
        text = raw.decode("utf-8", errors="replace")
        if "\ufffd" in text and b"\xef\xbf\xbd" not in raw:
            print("note: stdin is not UTF-8: bad bytes read as U+FFFD", file=sys.stderr)
        return text.splitlines()
    try:
        return Path(path).read_text(errors="replace").splitlines()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path=path) from e


def cmd_parse(args) -> int:
    from .detect import parse_any, parse_as
    from .ktap import emit_ktap
    lines = read_lines(args.log)
    parsed = parse_as(args.format, lines) if args.format else parse_any(lines)
    if args.json:
        print(json.dumps(parsed.to_dict(), indent=2))
    else:
        print(emit_ktap(parsed.tests), end="")
        for sp in parsed.splats:
            print(f"# splat [{sp.fingerprint[:12]}] {sp.kind}: {sp.title}")
    from .verdicts import test_verdicts
    bad = any(v.status.is_bad for v in test_verdicts(parsed.tests)) or bool(parsed.splats)
    return EXIT_TESTS_FAILED if bad or not parsed.complete else EXIT_PASS


def cmd_report(args) -> int:
    from .report import render_html, text_report, write_outputs
    jobs = [load_job(p) for p in find_jobs(Path(args.run))]
    if not jobs:
        raise InputError("no job results found", path=args.run)
    for j in jobs:
        write_outputs(j)
    print(text_report(jobs), end="")
    root = Path(args.run)
    if len(jobs) > 1:
        write_text(root / "report.html", render_html(jobs, title=f"kharness: {root.name}",
                                                     where=root))
        print(f"report: {root / 'report.html'}")
    else:
        print(f"report: {jobs[0].path / 'report.html'}")
    return EXIT_PASS


def pair_jobs(a: Path, b: Path):
    """Jobs of A and B matched by job path; a single job on each side always pairs."""
    ja, jb = find_jobs(a), find_jobs(b)
    if len(ja) == 1 and len(jb) == 1:
        return [(load_job(ja[0]), load_job(jb[0]))]
    la = {load_job(p).job: p for p in ja}
    pairs = []
    for p in jb:
        job = load_job(p)
        if job.job in la:
            pairs.append((load_job(la[job.job]), job))
    if not pairs:
        raise InputError("no job in B matches a job in A", path=str(b))
    return pairs


def cmd_compare(args) -> int:
    from .compare import compare_jobs, format_comparison
    results = [compare_jobs(x, y) for x, y in pair_jobs(Path(args.a), Path(args.b))]
    if args.json:
        print(json.dumps([c.to_dict() for c in results], indent=2))
    else:
        print("\n\n".join(format_comparison(c) for c in results))
    return compare_exit_code(results)


def compare_exit_code(results) -> int:
    """1 when any B regressed; else 7 (EXIT_INFRA) when a pair had no verdict
    because a job did not reach its tests; else 0."""
    if any(c.regressed for c in results):
        return EXIT_TESTS_FAILED
    return EXIT_INFRA if any(c.incomplete for c in results) else EXIT_PASS


def cmd_export(args) -> int:
    from common.fsutil import atomic_write
    from .export import export_run
    text = json.dumps(export_run(Path(args.run), args.base_url), indent=2) + "\n"
    if args.out:
        atomic_write(Path(args.out), text)
        print(f"kcidb: {args.out}")
    else:
        print(text, end="")
    return EXIT_PASS
