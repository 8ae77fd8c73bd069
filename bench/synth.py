"""Synthetic logs of a given length, made of copies of recorded lines from
tests/data/logs with the test numbers (and top-level names) made unique, so
the parsers see a long but well-formed run."""
from __future__ import annotations

import re
from pathlib import Path

from common.errors import InputError
from common.fsutil import REPO_ROOT

LOGS = REPO_ROOT / "tests" / "data" / "logs"
TEST_PROGS_SOURCE = LOGS / "test_progs-6.12-failures.log"
KTAP_SOURCE = LOGS / "kunit-nested.ktap"

TP_RESULT_RE = re.compile(r"^#(\d+)(/\d+)?(\s+)([^/:\s][^/:]*)(/[^:]*)?:(.*)$")
TP_SUMMARY_RE = re.compile(r"^Summary: (\d+)/(\d+) PASSED, (\d+) SKIPPED, (\d+) FAILED$")
KTAP_TOP_RE = re.compile(r"^(ok|not ok) (\d+) (\S+)(.*)$")
KTAP_PLAN_RE = re.compile(r"^1\.\.(\d+)$")


def _read(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError as e:
        raise InputError(f"cannot read the recorded log: {e.strerror}", path=str(path)) from e


def test_progs_log(lines: int, source: Path = TEST_PROGS_SOURCE) -> list[str]:
    """About `lines` lines of test_progs output (never more): copies of the result
    section of `source`, renumbered, then one Summary scaled to the copies."""
    src = _read(source)
    body, summary = _test_progs_parts(src, source)
    copies = max(1, (lines - 1) // len(body))
    top = max(int(m.group(1)) for m in map(TP_RESULT_RE.match, body) if m)
    out: list[str] = []
    for k in range(copies):
        for line in body:
            out.append(_renumber_tp(line, k * top, k))
    p, s, sk, f = (int(x) * copies for x in summary.groups())
    out.append(f"Summary: {p}/{s} PASSED, {sk} SKIPPED, {f} FAILED")
    return out


def _test_progs_parts(src: list[str], path: Path):
    body = []
    for line in src:
        if line.startswith("All error logs:") or TP_SUMMARY_RE.match(line):
            break
        body.append(line)
    while body and not body[-1].strip():
        body.pop()
    summary = next((m for m in map(TP_SUMMARY_RE.match, src) if m), None)
    if not body or summary is None:
        raise InputError("expected result lines and a Summary line", path=str(path))
    return body, summary


def _renumber_tp(line: str, offset: int, copy: int) -> str:
    m = TP_RESULT_RE.match(line)
    if not m:
        return line
    num, sub, gap, name, subname, rest = m.groups()
    return (f"#{int(num) + offset}{sub or ''}{gap}{name}_{copy}{subname or ''}:{rest}")


def ktap_log(lines: int, source: Path = KTAP_SOURCE) -> list[str]:
    """About `lines` lines of KTAP (never more): the top-level tests of `source`
    repeated under one plan, numbered 1..N with unique names."""
    src = _read(source)
    header, body = _ktap_parts(src, source)
    blocks = _top_blocks(body)
    per_copy = sum(len(b) for b in blocks)
    copies = max(1, (lines - len(header) - 1) // per_copy)
    out: list[str] = []
    n = 0
    for k in range(copies):
        for block in blocks:
            n += 1
            m = KTAP_TOP_RE.match(block[-1])
            out.extend(block[:-1])
            out.append(f"{m.group(1)} {n} {m.group(3)}_{k}{m.group(4)}")
    return header + [f"1..{n}"] + out


def _ktap_parts(src: list[str], path: Path):
    for i, line in enumerate(src):
        if KTAP_PLAN_RE.match(line):
            return src[:i], src[i + 1:]
    raise InputError("no top-level plan line (1..N)", path=str(path))


def _top_blocks(body: list[str]) -> list[list[str]]:
    """Split the body after each top-level result line."""
    blocks, cur = [], []
    for line in body:
        cur.append(line)
        if KTAP_TOP_RE.match(line):
            blocks.append(cur)
            cur = []
    if not blocks:
        raise InputError("no top-level result lines in the KTAP source")
    return blocks
