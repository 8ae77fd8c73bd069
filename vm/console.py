"""Console capture: copy the VM's console stream to console.log byte for byte
(up to FILE_CAP), keep a window of the last lines in memory, and classify boot
failures from them. Past a cap the capture says so, in the file and in
`truncated`, never silently."""
from __future__ import annotations

import collections
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

PANIC_RE = re.compile(r"Kernel panic - not syncing|end Kernel panic")
NO_INIT_RE = re.compile(
    r"No working init found|Requested init \S+ failed|VFS: Unable to mount root")
INIT_REACHED_RE = re.compile(r"Run \S+ as init process|virtme-ng-init:|virtme-init:")
# the guest's udev renames eth0 (to enp0s5) while virtme-ng-init's udhcpc is still
# configuring it: the address or route then goes to a device that is gone
NIC_RENAMED_RE = re.compile(r"\benp\w+: renamed from eth0\b")
NIC_LOST_RE = re.compile(r'Cannot find device "eth0"')

# Boot failure kinds (BootFailure.kind)
PANIC = "panic"
NO_INIT = "no-init"
NO_SSH = "no-ssh"
NO_NET = "no-network"        # no SSH, and the console shows the eth0 rename race
EXITED = "vm-exited"

WINDOW_LINES = 50_000          # console lines kept in memory (the last ones)
MAX_LINE = 64 * 1024           # a longer line is split (a flood without newlines)
FILE_CAP = 512 * 1024 * 1024   # console.log bytes; later output is counted, not saved


@dataclass
class BootFailure:
    kind: str          # panic, no-init, no-ssh, no-network, vm-exited
    detail: str        # the line that decided it, or why


def classify_failure(lines: list[str], *, timed_out: bool) -> BootFailure | None:
    """Which boot failure the console shows. `timed_out`: the SSH wait ran out.

    A panic that names init (or a root that cannot mount) is no-init; any other
    panic is panic; no panic at all is no-ssh when the wait ran out, else None."""
    for line in lines:
        if NO_INIT_RE.search(line):
            return BootFailure(NO_INIT, line.strip())
    for line in lines:
        if PANIC_RE.search(line):
            return BootFailure(PANIC, line.strip())
    if timed_out:
        reached = any(INIT_REACHED_RE.search(line) for line in lines)
        why = "init ran but SSH never answered" if reached else "kernel never reached init"
        lost = network_race(lines) if reached else None
        if lost is not None:
            return BootFailure(NO_NET, f"{why}: {lost}")
        return BootFailure(NO_SSH, why)
    return None


def network_race(lines: list[str]) -> str | None:
    """The eth0 rename race, when the console shows both of its traces: udev
    renamed the NIC, and the DHCP client's `ip` then found no eth0. Neither says
    the boot failed (every boot here is renamed, and a small-profile boot with
    both traces answered SSH: which of udhcpc's `ip` calls lost the race decides),
    so only a boot that also never answered counts it. A guest-side race, not the
    kernel's: pipeline.stages boots such a kernel once more."""
    renamed = next((ln.strip() for ln in lines if NIC_RENAMED_RE.search(ln)), None)
    lost = next((ln.strip() for ln in lines if NIC_LOST_RE.search(ln)), None)
    if renamed is None or lost is None:
        return None
    return f"the guest's NIC was renamed under its DHCP client ({renamed}; {lost})"


class ConsoleCapture:
    """Reads a stream (vng's stdout+stderr) in a thread and appends every byte to
    `path` at once, so the file holds the console from the first byte even if the
    harness is killed. `lines()` is the decoded console so far (its last
    WINDOW_LINES lines), `count()` the number of lines ever seen, `since(mark)`
    the lines from absolute line `mark` on that are still in the window."""

    def __init__(self, stream: BinaryIO, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = stream
        self._lock = threading.Lock()
        self._lines: collections.deque[str] = collections.deque(maxlen=WINDOW_LINES)
        self._total = 0
        self._partial = ""
        self.saved = 0                 # bytes written to the file
        self.truncated = 0             # bytes past FILE_CAP, not written
        self._event = threading.Event()
        self._out = open(self.path, "ab")   # exists from the start, even if empty
        self._thread = threading.Thread(target=self._pump, name="console", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        with self._out as out:
            while True:
                chunk = self._stream.read1(65536) if hasattr(self._stream, "read1") \
                    else self._stream.read(65536)
                if not chunk:
                    break
                self._save(out, chunk)
                self._add(chunk.decode("utf-8", errors="replace"))
            if self.truncated:
                out.write(f"\n[kharness: console output past {FILE_CAP} bytes not saved: "
                          f"{self.truncated} bytes dropped]\n".encode())
        with self._lock:
            if self._partial:
                self._push([self._partial])
                self._partial = ""
        self._event.set()

    def _save(self, out, chunk: bytes) -> None:
        room = max(0, FILE_CAP - self.saved)
        if room:
            out.write(chunk[:room])
            out.flush()
            self.saved += min(room, len(chunk))
        self.truncated += max(0, len(chunk) - room)

    def _add(self, text: str) -> None:
        with self._lock:
            parts = (self._partial + text.replace("\r", "")).split("\n")
            self._partial = parts.pop()
            while len(self._partial) > MAX_LINE:
                parts.append(self._partial[:MAX_LINE])
                self._partial = self._partial[MAX_LINE:]
            self._push(parts)
        self._event.set()

    def _push(self, parts: list[str]) -> None:
        self._lines.extend(parts)
        self._total += len(parts)

    def lines(self) -> list[str]:
        """The window's complete lines plus the unfinished last one."""
        with self._lock:
            return list(self._lines) + ([self._partial] if self._partial else [])

    def since(self, mark: int) -> list[str]:
        """Lines from absolute line `mark` (a count() value) on, as far as the
        window still holds them, plus the unfinished last one."""
        with self._lock:
            first = self._total - len(self._lines)
            skip = max(0, mark - first)
            tail = list(self._lines)[skip:]
            return tail + ([self._partial] if self._partial else [])

    @property
    def window_start(self) -> int:
        """The absolute number of the oldest line still in memory."""
        with self._lock:
            return self._total - len(self._lines)

    def count(self) -> int:
        with self._lock:
            return self._total

    def tail(self, n: int = 50) -> list[str]:
        return self.lines()[-n:]

    def wait_change(self, timeout: float) -> None:
        """Sleep until new output arrives or `timeout` passes."""
        self._event.wait(timeout)
        self._event.clear()

    @property
    def closed(self) -> bool:
        return not self._thread.is_alive()

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)
