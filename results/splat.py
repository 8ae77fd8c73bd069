"""Kernel splats in console output or dmesg. Pure.

Finds panics, Oopses, BUGs, WARNINGs, KASAN, UBSAN, lockdep reports, RCU stalls,
hung tasks, kmemleak reports and soft/hard lockups. Each gets a fingerprint built
from its kind, its headline with addresses, offsets, pids, CPU numbers and counts
stripped, and its top call-trace frames, so the same splat in two runs compares
equal. Lines may carry `[  12.345678]` timestamps, `[ T123]` caller ids or a `# `
prefix (kselftest output).
"""
from __future__ import annotations

import hashlib
import re

from .model import Splat

PREFIX = re.compile(r"^(?:#\s)?\s*(?:<\d>)?(?:\[\s*\d+\.\d+\])?(?:\[\s*[TC]\d+\])?\s?")
STARTS = [
    ("panic", re.compile(r"Kernel panic - not syncing: (?P<t>.*)")),
    ("kasan", re.compile(r"BUG: KASAN: (?P<t>.*)")),
    ("ubsan", re.compile(r"UBSAN: (?P<t>.*)")),
    ("soft_lockup", re.compile(r"watchdog: BUG: soft lockup - (?P<t>CPU#\d+ stuck.*)")),
    ("hard_lockup", re.compile(r"(?:NMI watchdog: )?Watchdog detected hard LOCKUP (?P<t>.*)")),
    ("rcu_stall", re.compile(r"(?:rcu: )?INFO: (?P<t>rcu_\w+ (?:self-)?detected stalls?.*)")),
    ("hung_task", re.compile(r"INFO: task (?P<t>\S+ blocked for more than \d+ seconds.*)")),
    ("lockdep", re.compile(r"(?:WARNING|INFO): (?P<t>possible circular locking dependency "
                           r"detected|inconsistent lock state|possible recursive locking "
                           r"detected|suspicious RCU usage|bad unlock balance detected!|"
                           r"lock held when returning to user space!|possible irq lock "
                           r"inversion dependency detected|held lock freed!)")),
    ("kmemleak", re.compile(r"(?:kmemleak: )?(?P<t>unreferenced object 0x[0-9a-f]+ "
                            r"\(size \d+\)):?")),
    ("warning", re.compile(r"WARNING: CPU: \d+ PID: \d+ at (?P<t>\S+ \S+)")),
    ("warning", re.compile(r"WARNING: (?P<t>\S+:\d+ at \S+)")),
    ("oops", re.compile(r"(?P<t>general protection fault.*)")),
    ("bug", re.compile(r"kernel BUG at (?P<t>\S+)")),
    ("bug", re.compile(r"BUG: (?P<t>.*)")),
    ("oops", re.compile(r"Oops: (?P<t>.*)")),
]
END = re.compile(r"---\[ end |^={20,}$|^Kernel Offset:|^Rebooting in ")
FRAME = re.compile(r"^\s*(\?\s+)?([\w.$]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?:\s+\[[\w-]+\])?\s*$")
RIP = re.compile(r"^RIP: [0-9a-f]{4}:([\w.$]+)\+0x")
NOISE_FRAMES = {"dump_stack_lvl", "dump_stack", "show_stack", "print_report", "kasan_report",
                "__warn", "warn_slowpath_fmt", "report_bug", "handle_bug", "exc_invalid_op",
                "asm_exc_invalid_op", "panic", "__kasan_check_read", "__kasan_check_write",
                "__asan_load8", "__asan_store8", "lockdep_rcu_suspicious", "ubsan_epilogue",
                "__ubsan_handle_out_of_bounds", "vpanic", "nmi_cpu_backtrace",
                "kasan_check_range", "__asan_report_load8_noabort", "check_noncircular",
                "print_circular_bug", "__lock_acquire", "lock_acquire", "validate_chain"}
MAX_LINES = 120
TOP_FRAMES = 4

# Follow-on headlines that belong to the splat already open.
FOLLOW = {"bug": {"oops"}, "oops": {"oops"}, "kasan": {"bug"}, "warning": set()}


def normalize_title(title: str) -> str:
    t = re.sub(r"\+0x[0-9a-f]+/0x[0-9a-f]+", "", title)
    t = re.sub(r"(\.[ch]):\d+", r"\1", t)
    t = re.sub(r"0x[0-9a-f]+|\b[0-9a-f]{8,16}\b", "X", t)
    t = re.sub(r"CPU#?\s*:?\s*\d+", "CPU#N", t)
    t = re.sub(r"(PID|pid|TID): ?\d+", r"\1: N", t)
    t = re.sub(r"\[[^\]]*:\d+\]", "[comm]", t)
    t = re.sub(r"(\S+):\d+ (blocked)", r"\1 \2", t)
    t = re.sub(r"\b\d+(\.\d+)?s\b|\b\d+ (seconds|jiffies)\b", "N", t)
    t = re.sub(r"#\d+", "#N", t)
    t = re.sub(r"(size|by task \S+?/)\s*\d+", r"\1 N", t)
    return re.sub(r"\s+", " ", t).strip().rstrip(":")


def fingerprint(kind: str, title: str, frames: list[str]) -> str:
    data = "|".join([kind, normalize_title(title)] + frames[:TOP_FRAMES])
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def strip_prefix(line: str) -> str:
    return PREFIX.sub("", line.rstrip("\r\n"), count=1)


def _start(text: str) -> tuple[str, str] | None:
    for kind, rx in STARTS:
        m = rx.match(text)
        if m:
            return kind, m.group("t").strip()
    return None


def _frame_name(name: str) -> str:
    """Drop what changes from build to build: BPF program tags, trampoline ids."""
    name = re.sub(r"^bpf_prog_[0-9a-f]{16}_", "bpf_prog_", name)
    return re.sub(r"^(bpf_trampoline|bpf_dispatcher)_\d+", r"\1", name)


def _frames(body: list[str]) -> list[str]:
    out = []
    for text in body:
        m = RIP.match(text)
        if m and _frame_name(m.group(1)) not in out:
            out.append(_frame_name(m.group(1)))
            continue
        m = FRAME.match(text)
        name = _frame_name(m.group(2)) if m else None
        if m and not m.group(1) and name not in NOISE_FRAMES and name not in out:
            out.append(name)
    return out


class _Open:
    def __init__(self, kind: str, title: str, n: int, text: str):
        self.kind, self.title, self.line, self.body = kind, title, n, [text]


def _close(o: _Open) -> Splat:
    frames = _frames(o.body)
    return Splat(o.kind, normalize_title(o.title), fingerprint(o.kind, o.title, frames),
                 frames=frames[:8], excerpt=o.body[:60], line=o.line)


def find_splats(lines: list[str]) -> list[Splat]:
    """Every splat, in order of appearance."""
    found: list[Splat] = []
    cur: _Open | None = None
    for n, raw in enumerate(lines, 1):
        text = strip_prefix(raw)
        hit = _start(text)
        if hit and cur is not None and hit[0] in FOLLOW.get(cur.kind, set()):
            cur.body.append(text)
            continue
        if hit:
            if cur is not None:
                found.append(_close(cur))
            cur = _Open(hit[0], hit[1], n, text)
            continue
        if cur is None:
            continue
        cur.body.append(text)
        if END.search(text) and len(cur.body) > 1 or len(cur.body) >= MAX_LINES:
            found.append(_close(cur))
            cur = None
    if cur is not None:
        found.append(_close(cur))
    return found


def attach_splats(splats: list[Splat], markers: list[tuple[int, str]]) -> None:
    """Set each splat's test: the last marker (line, test) at or before its line."""
    ordered = sorted(markers)
    for s in splats:
        for line, test in ordered:
            if s.line is not None and line <= s.line:
                s.test = test
