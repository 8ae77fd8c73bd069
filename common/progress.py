"""Stage lines with timings, and a live counter on a TTY (off a TTY, the counter
prints one line every 30 s of a long stage)."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager


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
        self.stream.write(f"\r\033[K[{stage}] {text}")
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


class CounterOnly:
    """What a stage's own code gets when the pipeline already prints the stage's
    start and end lines: live counters and notes pass through, start/end do not."""

    def __init__(self, parent: Progress):
        self.parent = parent

    def start(self, stage: str, detail: str = "") -> float:
        import time
        return time.monotonic()

    def end(self, stage: str, started: float, status: str, detail: str = "") -> None:
        return None

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
