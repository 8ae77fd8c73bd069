"""Stage lines with timings, and a live counter on a TTY (off a TTY, the counter
prints one line every 30 s of a long stage)."""
from __future__ import annotations

import fcntl
from abc import ABC, abstractmethod
import os
import re
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import InfraError
from .fsutil import cache_dir, read_json, write_json


DURATIONS_VAR = "KHARNESS_DURATIONS"   # where Durations live (the tests keep theirs apart)
TICK = 1.0               # seconds between a Ticker's counter lines on a TTY
OFF_TTY_EVERY = 30.0     # seconds between counter lines when stderr is not a TTY


class Progress:
    """One line per stage start and end. Live counters when stderr is a TTY; when
    it is not (CI logs), start lines are left out, a stage's counter prints one line
    every `every` seconds (none for a stage shorter than that), end lines print."""

    def __init__(self, stream=None, quiet: bool | None = None, clock=time.monotonic,
                 every: float = OFF_TTY_EVERY):
        self.stream = stream or sys.stderr
        tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.tty = tty
        self.quiet = (not tty) if quiet is None else quiet
        self._live = False
        self.clock, self.every = clock, every
        self._last: dict[str, float] = {}      # off a TTY: when a stage's counter last printed
        self.prefix = ""                       # on a TTY: what leads each live line (the matrix)

    def _print(self, text: str) -> None:
        if self._live:
            self.stream.write("\r\033[K")
            self._live = False
        self.stream.write(text + "\n")
        self.stream.flush()

    def start(self, stage: str, detail: str = "") -> float:
        if not self.quiet:
            self._print(f"[{stage}] start {detail}".rstrip())
        return time.monotonic()

    def end(self, stage: str, started: float, status: str, detail: str = "") -> None:
        self._last.pop(stage, None)
        took = time.monotonic() - started
        self._print(f"[{stage}] {status} in {fmt_secs(took)} {detail}".rstrip())

    def counter(self, stage: str, text: str) -> None:
        """A live status line (overwritten in place); off a TTY, a plain line once
        every `every` seconds from the stage's first counter."""
        if not self.tty:
            now = self.clock()
            last = self._last.setdefault(stage, now)
            if now - last >= self.every:
                self._last[stage] = now
                self._print(f"[{stage}] {text}")
            return
        self.stream.write(f"\r\033[K{self.prefix}[{stage}] {text}")
        self.stream.flush()
        self._live = True

    def info(self, text: str) -> None:
        self._print(text)

    @contextmanager
    def stage(self, name: str, detail: str = ""):
        t = self.start(name, detail)
        try:
            yield
        except BaseException:
            self.end(name, t, "FAILED")
            raise
        self.end(name, t, "ok")


def eta_text(done: int, total: int | None, elapsed: float, unit: str = "",
             recorded: float | None = None) -> str:
    """'done/total unit, ETA t': the time left from this run's rate so far, or, before
    the first unit is done, from `recorded` (the same stage's duration last time)."""
    unit = f" {unit}" if unit else ""
    if not total:
        return f"{done}{unit}"
    text = f"{min(done, total)}/{total}{unit}"
    if done > 0 and elapsed > 0:
        left = elapsed / done * max(total - done, 0)
    elif recorded:
        left = max(recorded - elapsed, 0.0)
    else:
        return text
    return f"{text}, ETA {fmt_secs(left)}"


class Meter:
    """Progress of a stage of countable steps (objects built, tests run): each
    update() is a counter line with the ETA."""

    def __init__(self, progress, stage: str, total: int | None, unit: str = "",
                 recorded: float | None = None):
        self.progress, self.stage, self.total = progress, stage, total
        self.unit, self.recorded = unit, recorded
        self.clock = getattr(progress, "clock", time.monotonic)
        self.started = self.clock()
        self.done = 0

    def update(self, done: int) -> str:
        self.done = done
        line = eta_text(done, self.total, self.clock() - self.started, self.unit,
                        self.recorded)
        self.progress.counter(self.stage, line)
        return line


class Periodic(ABC):
    """A thread that calls tick() every `period` seconds while the `with` block runs;
    subclasses (Ticker, kbuild's LogWatcher) say what a tick does."""

    def __init__(self, period: float):
        self.period = period
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    @abstractmethod
    def tick(self) -> None:
        """One period's work."""

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            self.tick()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class Ticker(Periodic):
    """A counter line for a stage whose work happens elsewhere (a VM booting, a
    guest running tests, a tree unpacking): every `period` seconds, `probe()` (steps
    done so far, or None for a stage that has no steps) out of `total`, with the ETA
    from the rate or the stage's `recorded` duration. Off a TTY, Progress prints one
    line every 30 s of it. Use as a context manager (a thread ticks), or call tick()."""

    def __init__(self, progress, stage: str, probe=None, total: int | None = None,
                 unit: str = "", recorded: float | None = None, period: float | None = None):
        super().__init__(TICK if period is None else period)
        self.meter = Meter(progress, stage, total, unit, recorded)
        self.probe = probe

    def tick(self) -> str:
        m = self.meter
        if self.probe is not None:
            return m.update(self.probe())
        elapsed = m.clock() - m.started
        line = f"{fmt_secs(elapsed)}"
        if m.recorded:
            line += f" of {fmt_secs(m.recorded)} last time, ETA {fmt_secs(max(m.recorded - elapsed, 0))}"
        m.progress.counter(m.stage, line)
        return line


# A top-level test result of a suite's raw log: KTAP/TAP `ok 3 ...`/`not ok 3 ...`
# at the line's start (subtests are indented), test_progs `#12      name:OK`.
RESULT_LINE = re.compile(rb"^(?:(?:not )?ok \d+\b|#\d+\s+\S+:(?:OK|FAIL|SKIP)\b)", re.M)
PLAN_LINE = re.compile(rb"^1\.\.(\d+)\s*$", re.M)


class LineCounter:
    """Counts the lines matching `pattern` in the files `glob` finds under `root`, as
    they grow (a guest streaming a suite's raw logs): only whole lines are counted,
    each file from where the last call stopped. `planned` sums their TAP plans."""

    def __init__(self, root: Path, glob: str = "*.log", pattern: re.Pattern = RESULT_LINE):
        self.root, self.glob, self.pattern = Path(root), glob, pattern
        self._seen: dict[Path, tuple[int, bytes]] = {}
        self.count = self.planned = 0

    def __call__(self) -> int:
        for f in sorted(self.root.glob(self.glob)):
            pos, tail = self._seen.get(f, (0, b""))
            try:
                with open(f, "rb") as fh:
                    fh.seek(pos)
                    chunk = fh.read()
            except OSError:
                continue
            data = tail + chunk
            cut = data.rfind(b"\n") + 1
            self.count += len(self.pattern.findall(data[:cut]))
            self.planned += sum(int(n) for n in PLAN_LINE.findall(data[:cut]))
            self._seen[f] = (pos + len(chunk), data[cut:])
        return self.count


class CountingRunner:
    """A process runner that counts the commands `match(argv)` picks (the `git am`
    of each patch applied) and passes everything to the runner it wraps."""

    def __init__(self, runner, match):
        self.runner, self.match, self.count = runner, match, 0

    def run(self, argv, *args, **kwargs):
        res = self.runner.run(argv, *args, **kwargs)
        if self.match(list(argv)):
            self.count += 1
        return res

    def __getattr__(self, name):
        return getattr(self.runner, name)


class Durations:
    """How long stages took last time, kept across runs (`durations.json` in the
    cache): `key -> {"seconds": s, "count": n}`, the key naming what makes the
    durations comparable (the kernel build key and accel of a boot, a job's key for
    a matrix). A missing or unreadable file is an empty record: this only feeds ETAs."""

    def __init__(self, path: Path | None = None):
        if path is None:
            env = os.environ.get(DURATIONS_VAR)
            path = Path(env) if env else cache_dir() / "progress" / "durations.json"
        self.path = Path(path)

    def _load(self) -> dict:
        try:
            data = read_json(self.path)
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> dict:
        entry = self._load().get(key)
        return entry if isinstance(entry, dict) else {}

    def seconds(self, key: str) -> float | None:
        s = self.get(key).get("seconds")
        return float(s) if isinstance(s, (int, float)) and s > 0 else None

    def count(self, key: str) -> int | None:
        n = self.get(key).get("count")
        return n if isinstance(n, int) and n > 0 else None

    def record(self, key: str, seconds: float, count: int | None = None, **extra) -> None:
        entry = {"seconds": round(seconds, 3), **extra}
        if count is not None:
            entry["count"] = count
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path.with_suffix(".lock"), "w") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)      # jobs of a matrix record at once
                data = self._load()
                data[key] = entry
                write_json(self.path, data)
        except (OSError, InfraError):
            pass                                      # a read-only cache: no ETA next time


class MatrixEta:
    """The whole matrix: jobs done out of all, with the ETA from what each job left
    took last time (`Durations` under its job key), a job never recorded counting as
    the mean of this run's jobs so far. Each job's duration and stage durations are
    recorded when it ends. On a TTY the line leads every live counter line; off a
    TTY it is a counter of its own (one line every 30 s)."""

    def __init__(self, progress, keys: list[str], durations: Durations | None = None,
                 period: float = 5.0):
        self.progress, self.keys = progress, list(keys)
        self.rec = durations or Durations()
        self.recorded = [self.rec.seconds(k) for k in self.keys]
        self.clock = getattr(progress, "clock", time.monotonic)
        self.since = self.clock()              # when the running job started
        self.took: dict[int, float] = {}
        self.ticker = Ticker(progress, "matrix", period=period)
        self.ticker.tick = self.tick

    def eta(self) -> float | None:
        mean = sum(self.took.values()) / len(self.took) if self.took else None
        left = [self.recorded[i] or mean for i in range(len(self.keys)) if i not in self.took]
        if any(x is None for x in left):
            return None
        return max(sum(left) - (self.clock() - self.since), 0.0) if left else 0.0

    def line(self) -> str:
        text = f"{len(self.took)}/{len(self.keys)} jobs"
        eta = self.eta()
        return text + (f", ETA {fmt_secs(eta)}" if eta is not None else "")

    def tick(self) -> str:
        line = self.line()
        if getattr(self.progress, "tty", False):
            self.progress.prefix = f"[matrix] {line} | "
        else:
            self.progress.counter("matrix", line)
        return line

    def job_done(self, i: int, seconds: float, stages: dict[str, float]) -> str:
        self.took[i] = seconds
        self.since = self.clock()
        self.rec.record(self.keys[i], seconds, stages={k: round(v, 3) for k, v in stages.items()})
        return self.tick()

    def __enter__(self) -> "MatrixEta":
        self.tick()
        self.ticker.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.ticker.__exit__(*exc)
        if getattr(self.progress, "tty", False):
            self.progress.prefix = ""


class CounterOnly:
    """What a stage's own code gets when the pipeline already prints the stage's
    start and end lines: live counters and notes pass through, start/end do not."""

    def __init__(self, parent: Progress):
        self.parent = parent

    def start(self, stage: str, detail: str = "") -> float:
        return time.monotonic()

    def end(self, stage: str, started: float, status: str, detail: str = "") -> None:
        return None

    @property
    def clock(self):
        return getattr(self.parent, "clock", time.monotonic)

    def counter(self, stage: str, text: str) -> None:
        self.parent.counter(stage, text)

    def info(self, text: str) -> None:
        self.parent.info(text)


def fmt_secs(s: float) -> str:
    if s < 60:
        return f"{s:.1f}s"
    m, sec = divmod(int(s), 60)
    if m < 60:
        return f"{m}m{sec:02d}s"
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{sec:02d}s"
