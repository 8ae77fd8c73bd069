"""Stage lines with timings, and a live counter on a TTY."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager


class Progress:
    """One line per stage start and end. Live counters only when stderr is a TTY;
    when it is not (CI logs), start lines are left out and only end lines print."""

    def __init__(self, stream=None, quiet: bool | None = None):
        self.stream = stream or sys.stderr
        tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.tty = tty
        self.quiet = (not tty) if quiet is None else quiet
        self._live = False

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
        took = time.monotonic() - started
        self._print(f"[{stage}] {status} in {fmt_secs(took)} {detail}".rstrip())

    def counter(self, stage: str, text: str) -> None:
        """A live status line (overwritten in place); silent when not a TTY."""
        if not self.tty:
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
