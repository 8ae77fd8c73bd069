"""Progress of a running build: count kbuild `CC` lines in the streaming log."""
from __future__ import annotations

import re
import threading
from pathlib import Path

from common.progress import fmt_secs

CC_LINE = re.compile(rb"^\s+CC(?: \[M\])?\s+\S+", re.M)
# One BPF object of the bpf selftests: `  CLNG-BPF [test_progs] foo.bpf.o`.
BPF_LINE = re.compile(rb"^\s+CLNG-BPF\s+(?:\[[^\]]*\]\s+)?\S+\.bpf\.o\b", re.M)


def count_objects(text: bytes, pattern: re.Pattern = CC_LINE) -> int:
    return len(pattern.findall(text))


class LogWatcher:
    """Polls `log` every `period` seconds and reports `done/expected, ETA` lines.
    ETA uses the seconds per object of the last build of the same family."""

    def __init__(self, log: Path, progress, stage: str, expected: int | None,
                 per_object: float | None, period: float = 2.0,
                 pattern: re.Pattern = CC_LINE, unit: str = "objects"):
        self.log, self.progress, self.stage = Path(log), progress, stage
        self.expected, self.per_object, self.period = expected, per_object, period
        self.pattern, self.unit = pattern, unit
        self.count = 0
        self._pos = 0
        self._tail = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "LogWatcher":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.poll()

    def poll(self) -> int:
        try:
            with open(self.log, "rb") as f:
                f.seek(self._pos)
                chunk = f.read()
        except OSError:
            return self.count
        self._pos += len(chunk)
        data = self._tail + chunk
        cut = data.rfind(b"\n") + 1
        self.count += count_objects(data[:cut], self.pattern)
        self._tail = data[cut:]
        return self.count

    def line(self) -> str:
        text = f"{self.count} {self.unit}"
        if self.expected:
            text = f"{min(self.count, self.expected)}/{self.expected} {self.unit}"
            if self.per_object:
                left = max(self.expected - self.count, 0) * self.per_object
                text += f", ETA {fmt_secs(left)}"
        return text

    def _loop(self) -> None:
        while not self._stop.wait(self.period):
            self.poll()
            if self.progress is not None:
                self.progress.counter(self.stage, self.line())


