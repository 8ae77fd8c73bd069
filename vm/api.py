"""What the test stage needs from a running guest: vm.boot.VM implements it, and
the tests' fakes are checked against it (tests/test_protocols.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable


@runtime_checkable
class GuestVM(Protocol):
    """A booted guest: commands over SSH with a guest-side timeout, its console,
    and whether it is still alive."""

    req: object          # the VMRequest it was started with (rwdir, ...)
    probe: object        # the KVM/TCG decision (accel, reason)
    console: object      # lines() and count() of the console so far
    boot_seconds: float
    expired: bool        # its run timeout killed it

    def alive(self) -> bool: ...

    def exec(self, cmd: Sequence[str] | str, timeout: float): ...

    def stream(self, cmd: Sequence[str] | str, out_path: Path, timeout: float): ...

    def crash(self): ...

    def raise_if_expired(self) -> None: ...
