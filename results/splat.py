"""Kernel splats in console output or dmesg. Pure.

`find_splats(lines)` finds panics, Oopses, BUGs, WARNINGs, KASAN, KCSAN and UBSAN
reports, lockdep reports, RCU stalls, hung tasks, kmemleak reports and soft/hard
lockups. Lines may carry a `<4>` level, `[  12.345678]` timestamps, `[ T123]`
caller ids, a journald `Mon DD HH:MM:SS host kernel: ` head, or one or more
`# ` prefixes (kselftest output).

Each splat gets a fingerprint built from its kind, its headline with addresses,
`+0x../0x..` offsets, line numbers, pids, CPU numbers, durations, `[comm:pid]`
brackets and hex values stripped, and its top call-trace frames (the RIP
function, then the first `Call Trace:` block, `<IRQ>` frames of the watchdog
kinds and `<NMI>` frames left out, `? ` guesses and reporting helpers dropped),
so the same splat in two runs compares equal and different ones differ.

`LogCursor.new(lines)` picks the records of a `dmesg` read that are newer than
the last read, by printk timestamp (not by line count, which stops working once
the kernel log buffer wraps). `merge_found(a, b)` joins the splats of the
console and of dmesg for one window, each splat once.

`attach_splats(splats, markers)` names the test that was running when each
splat appeared, from `(line, test)` markers meaning "test ran from this line on".
"""
from __future__ import annotations

import bisect
import hashlib
import re

from .model import Splat

PREFIX = re.compile(r"^(?:# )*(?:<\d>)?"
                    r"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ kernel: )?"
                    r"(?:\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])? ?)?")

LOCKDEP_TITLES = (r"possible circular locking dependency detected|inconsistent lock state|"
                  r"possible recursive locking detected|suspicious RCU usage|"
                  r"bad unlock balance detected!|lock held when returning to user space!|"
                  r"possible irq lock inversion dependency detected|held lock freed!|"
                  r"\S+-safe -> \S+-unsafe lock order detected|Nested lock was not taken|"
                  r"bad contention detected!|\S+/\d+ still has locks held!|"
                  r"trying to register non-static key\.")

# (kind, headline pattern). The first that matches a line opens a splat.
STARTS: list[tuple[str, re.Pattern]] = [
    ("panic", re.compile(r"Kernel panic - not syncing: (?P<t>.*)")),
    ("kasan", re.compile(r"BUG: KASAN: (?P<t>.*)")),
    ("kcsan", re.compile(r"BUG: KCSAN: (?P<t>.*)")),
    ("ubsan", re.compile(r"UBSAN: (?P<t>.*)")),
    ("soft_lockup", re.compile(r"watchdog: BUG: (?P<t>soft lockup - CPU#\d+ stuck.*)")),
    ("hard_lockup", re.compile(r"(?:(?:NMI )?watchdog: )?Watchdog detected "
                               r"(?P<t>hard LOCKUP.*)")),
    ("rcu_stall", re.compile(r"(?:rcu: )?INFO: (?P<t>rcu_\w+ (?:self-detected stall|"
                             r"detected (?:expedited )?stalls?).*)")),
    ("hung_task", re.compile(r"INFO: task (?P<t>\S+ blocked for more than \d+ seconds.*)")),
    ("lockdep", re.compile(r"(?:WARNING|INFO): (?P<t>" + LOCKDEP_TITLES + ")")),
    ("kmemleak", re.compile(r"(?:kmemleak: )?(?P<t>unreferenced object 0x[0-9a-f]+ "
                            r"\(size \d+\)):?")),
    ("warning", re.compile(r"WARNING: CPU: \d+ PID: \d+ at (?P<t>.+)")),
    ("warning", re.compile(r"WARNING: at (?P<t>.+)")),
    ("oops", re.compile(r"(?P<t>general protection fault.*)")),
    ("bug", re.compile(r"kernel BUG at (?P<t>\S+?)!?$")),
    ("bug", re.compile(r"BUG: (?P<t>.*)")),
    ("oops", re.compile(r"Oops: (?P<t>.*)")),
]

# Headlines that continue the splat already open instead of starting another:
# a NULL dereference BUG is followed by its Oops, KASAN may end in a BUG line.
FOLLOW = {"bug": {"oops"}, "oops": {"oops"}, "kasan": {"bug"}, "kcsan": {"bug"}}

END = re.compile(r"---\[ end |^={20,}$|^Rebooting in ")
# Kinds whose report has no end marker: it ends with its (last) task trace.
ENDS_AT_TASK_END = {"lockdep", "hung_task", "rcu_stall", "soft_lockup", "hard_lockup"}
CUT_HERE = re.compile(r"^-+\[ cut here \]-+$")
FRAME = re.compile(r"^\s*(?:\[<[0-9a-f]+>\]\s*)?(\?\s+)?([\w.$]+)\+0x[0-9a-f]+/0x[0-9a-f]+"
                   r"(?:\s+\[[\w-]+\])?\s*$")
RIP = re.compile(r"^RIP: [0-9a-f]{4}:([\w.$]+)\+0x")
NOISE_FRAMES = {
    "dump_stack_lvl", "dump_stack", "show_stack", "print_report", "kasan_report",
    "__warn", "warn_slowpath_fmt", "report_bug", "handle_bug", "exc_invalid_op",
    "asm_exc_invalid_op", "panic", "vpanic", "__kasan_check_read", "__kasan_check_write",
    "kasan_check_range", "lockdep_rcu_suspicious", "ubsan_epilogue", "nmi_cpu_backtrace",
    "check_noncircular", "print_circular_bug", "check_prev_add", "check_prevs_add",
    "__lock_acquire", "lock_acquire", "validate_chain", "print_usage_bug", "mark_lock",
    "kmemleak_alloc", "kmemleak_alloc_recursive", "kcsan_report", "die", "die_addr",
    "oops_end", "page_fault_oops", "do_user_addr_fault", "exc_page_fault",
    "asm_exc_page_fault", "exc_general_protection", "asm_exc_general_protection",
}
NOISE_PREFIXES = ("__asan_", "__ubsan_handle_", "__tsan_")
WATCHDOG_KINDS = {"soft_lockup", "rcu_stall", "hard_lockup"}
MAX_LINES = 120
EXCERPT_LINES = 80
TOP_FRAMES = 4

_NORMALIZE = [
    (re.compile(r"\+0x[0-9a-f]+/0x[0-9a-f]+"), ""),             # func+0x1a/0x40
    (re.compile(r"(\.[chS]|\.rs):\d+(?::\d+)?"), r"\1"),          # file.c:123[:9]
    (re.compile(r"\[[^\]\s]*:\d+\]"), "[comm]"),                  # [test_progs:601]
    (re.compile(r"\bkworker/[\w:+-]+"), "kworker/N"),
    (re.compile(r"(\S+):\d+ (blocked)"), r"\1 \2"),              # task comm:pid blocked
    (re.compile(r"(\w[\w.-]*)/\d+\b"), r"\1/N"),                  # comm/pid
    (re.compile(r"\b0x[0-9a-fA-F]+\b|\b[0-9a-f]{8,16}\b"), "X"),
    (re.compile(r"\bpfn:\s*[0-9a-f]+"), "pfn:X"),
    (re.compile(r"\bCPU#?\s*:?\s*\d+|\bcpu\s+\d+"), "CPU#N"),
    (re.compile(r"\b(PID|pid|TID|tid): ?\d+"), r"\1: N"),
    (re.compile(r"\b(\w+)=\d+"), r"\1=N"),
    (re.compile(r"\b\d+(?:\.\d+)?s\b|\b\d+ (?:seconds|jiffies|ticks)\b"), "N"),
    (re.compile(r"#\d+"), "#N"),
    (re.compile(r"\b(size|by task \S+?/)\s*\d+"), r"\1 N"),
]


def normalize_title(title: str) -> str:
    """The headline without what changes from run to run."""
    for rx, repl in _NORMALIZE:
        title = rx.sub(repl, title)
    return re.sub(r"\s+", " ", title).strip().rstrip(":.!").strip()


def fingerprint(kind: str, title: str, frames: list[str]) -> str:
    """16 hex digits over kind, normalized title and the top frames."""
    data = "|".join([kind, normalize_title(title)] + frames[:TOP_FRAMES])
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def strip_prefix(line: str) -> str:
    """The kernel message of a console/dmesg line, without its decorations."""
    return PREFIX.sub("", line.rstrip("\r\n"), count=1)


def match_start(text: str) -> tuple[str, str] | None:
    """(kind, raw title) when this message opens a splat."""
    for kind, rx in STARTS:
        m = rx.match(text)
        if m:
            return kind, m.group("t").strip()
    return None


def _frame_name(name: str) -> str:
    """Drop what changes from build to build: BPF program tags, trampoline ids,
    compiler clone suffixes."""
    name = re.sub(r"^bpf_prog_[0-9a-f]{16}_", "bpf_prog_", name)
    name = re.sub(r"^(bpf_trampoline|bpf_dispatcher)_\d+", r"\1", name)
    return re.sub(r"\.(?:isra|constprop|part|cold|llvm)\.\d+$|\.cold$", "", name)


def _noise(name: str) -> bool:
    return name in NOISE_FRAMES or name.startswith(NOISE_PREFIXES)


def _trace_block(body: list[str]) -> list[str]:
    """The lines of the first `Call Trace:` block (all lines when there is none)."""
    for i, text in enumerate(body):
        if text.strip() == "Call Trace:":
            block = []
            for rest in body[i + 1:]:
                block.append(rest)
                if rest.strip() == "</TASK>":
                    break
            return block
    return body


def extract_frames(kind: str, body: list[str]) -> list[str]:
    """Function names of the splat's call trace, most specific first."""
    out: list[str] = []
    for text in body:
        m = RIP.match(text.strip())
        if m:
            out.append(_frame_name(m.group(1)))
            break
    skip_until = None
    for text in _trace_block(body):
        marker = text.strip()
        if skip_until is not None:
            skip_until = None if marker == skip_until else skip_until
            continue
        if marker == "<NMI>" or (marker == "<IRQ>" and kind in WATCHDOG_KINDS):
            skip_until = "</" + marker[1:]
            continue
        m = FRAME.match(text)
        if m and not m.group(1):
            name = _frame_name(m.group(2))
            if not _noise(name) and name not in out:
                out.append(name)
    return out


class _Open:
    """A splat still being read."""

    def __init__(self, kind: str, title: str, line: int, lead: list[str]):
        self.kind, self.title, self.line = kind, title, line
        self.body: list[str] = []
        self.lead = lead              # "cut here" context printed before the headline
        self.merged = False           # a follow-on headline (the Oops of a BUG) joined

    def ends_with(self, text: str) -> bool:
        """Whether `text` (already in the body) closes the splat."""
        if len(self.body) > 1 and END.search(text):
            return True
        if text.strip() == "</TASK>" and (self.kind in ENDS_AT_TASK_END or
                                          (self.kind == "bug" and not self.merged)):
            return True
        return len(self.body) >= MAX_LINES

    def ended_before(self, text: str) -> bool:
        """kmemleak reports end at the first line that is not indented."""
        return self.kind == "kmemleak" and len(self.body) > 1 and bool(text) \
            and not text[0].isspace()

    def close(self) -> Splat:
        frames = extract_frames(self.kind, self.body)
        return Splat(self.kind, normalize_title(self.title),
                     fingerprint(self.kind, self.title, frames), frames=frames[:8],
                     excerpt=(self.lead + self.body)[:EXCERPT_LINES], line=self.line)


class _Finder:
    def __init__(self):
        self.found: list[Splat] = []
        self.cur: _Open | None = None
        self.recent: list[str] = []   # lines since the last "cut here"

    def feed(self, n: int, raw: str) -> None:
        text = strip_prefix(raw)
        if self.cur is not None and self.cur.ended_before(text):
            self.flush()
        hit = match_start(text)
        if hit and self.cur is not None and hit[0] in FOLLOW.get(self.cur.kind, ()):
            self.cur.body.append(text)
            self.cur.merged = True
            return
        if hit:
            self.flush()
            self.cur = _Open(hit[0], hit[1], n, self.recent)
            self.cur.body.append(text)
            self.recent = []
            return
        if self.cur is None:
            self._remember(text)
            return
        self.cur.body.append(text)
        if self.cur.ends_with(text):
            self.flush()

    def _remember(self, text: str) -> None:
        if CUT_HERE.match(text):
            self.recent = [text]
        elif self.recent and len(self.recent) < 4:
            self.recent.append(text)
        else:
            self.recent = []

    def flush(self) -> None:
        if self.cur is not None:
            self.found.append(self.cur.close())
            self.cur = None


def find_splats(lines: list[str]) -> list[Splat]:
    """Every splat, in order of appearance; `line` is the 1-based headline line."""
    finder = _Finder()
    for n, raw in enumerate(lines, 1):
        finder.feed(n, raw)
    finder.flush()
    return finder.found


STAMP = re.compile(r"^(?:<\d+>)?\[\s*(\d+\.\d+)\]")


class LogCursor:
    """Where the last `dmesg` read ended: its newest timestamp and how many lines
    carried it. Lines without a timestamp belong to the record above them."""

    def __init__(self):
        self.last: float | None = None
        self.at_last = 0
        self.count = 0          # lines seen, for logs without timestamps

    def new(self, lines: list[str]) -> list[str]:
        """The lines of a whole `dmesg` output not returned by an earlier call."""
        stamps = _stamps(lines)
        if not any(t is not None for t in stamps):
            fresh = lines[self.count:] if len(lines) >= self.count else lines
            self.count = len(lines)
            return fresh
        fresh, seen_at = [], 0
        for line, t in zip(lines, stamps):
            if t == self.last:
                seen_at += 1
            if t is None and self.last is None or t is not None and (
                    self.last is None or t > self.last or
                    t == self.last and seen_at > self.at_last):
                fresh.append(line)
        newest = max(t for t in stamps if t is not None)
        if self.last is None or newest >= self.last:
            self.at_last = sum(1 for t in stamps if t == newest)
            self.last = newest
        self.count = len(lines)
        return fresh


def _stamps(lines: list[str]) -> list[float | None]:
    out, cur = [], None
    for line in lines:
        m = STAMP.match(line)
        if m:
            cur = float(m.group(1))
        out.append(cur)
    return out


def merge_found(first: list[Splat], second: list[Splat]) -> list[Splat]:
    """`first` plus the splats of `second` that `first` lacks: a fingerprint seen
    n times in one list and m times in the other counts max(n, m) times."""
    have: dict[str, int] = {}
    for s in first:
        have[s.fingerprint] = have.get(s.fingerprint, 0) + 1
    out = list(first)
    for s in second:
        if have.get(s.fingerprint, 0) > 0:
            have[s.fingerprint] -= 1
        else:
            out.append(s)
    return out


def attach_splats(splats: list[Splat], markers: list[tuple[int, str]]) -> None:
    """Set each splat's `test` to the last marker (line, test) at or before its
    line; markers mean "this test was running from this line on" (an empty
    test name: nothing was running)."""
    ordered = sorted(markers, key=lambda m: m[0])
    starts = [line for line, _ in ordered]
    for s in splats:
        if s.line is None:
            continue
        i = bisect.bisect_right(starts, s.line)
        if i:
            s.test = ordered[i - 1][1] or None
