"""SSH transport to the guest through paramiko: host-key pinning, connection
retries with backoff, and command execution with timeouts and streaming."""
from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import paramiko

from common.errors import BootError, InfraError


# paramiko logs every refused connection attempt with a traceback while the guest
# boots; the retries are expected, and the final error is raised to the caller.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class HostKeyMismatch(paramiko.SSHException):
    """The guest presented a different host key than the one pinned."""


class NoPinnedKey(paramiko.SSHException):
    """The fresh VM's host key is not known yet (vng has not written it): the
    connection is refused and retried, never trusted on first use."""


class PinnedHostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Accept exactly the host key the fresh VM was given (`pinned`, read from the
    key file vng writes before qemu starts); any other key is refused, and no key
    is accepted while none is pinned."""

    def __init__(self, pinned: paramiko.PKey | None = None):
        self.pinned = pinned

    def missing_host_key(self, client, hostname, key) -> None:
        if self.pinned is None:
            raise NoPinnedKey(f"no host key pinned yet for {hostname}")
        if key.get_name() != self.pinned.get_name() or key.asbytes() != self.pinned.asbytes():
            raise HostKeyMismatch(
                f"host key of {hostname} changed: got {key.get_name()} "
                f"{key.fingerprint}, pinned {self.pinned.get_name()} {self.pinned.fingerprint}")
        client.get_host_keys().add(hostname, key.get_name(), key)


EXEC_CAP = 16 * 1024 * 1024      # exec: bytes of stdout (and of stderr) kept, the last ones
STREAM_CAP = 256 * 1024 * 1024   # stream: bytes written to the output file


@dataclass
class ExecResult:
    rc: int | None          # None when it was cut off on the host side
    stdout: str
    stderr: str
    timed_out: bool
    duration: float
    truncated: int = 0      # output bytes past the cap, dropped (noted in the output)

    @property
    def ok(self) -> bool:
        return self.rc == 0 and not self.timed_out


RETRYABLE = (OSError, socket.timeout, EOFError, paramiko.SSHException)


class SSHSession:
    """One authenticated connection to the guest. `client_factory` makes the
    paramiko.SSHClient (tests pass a fake); `clock`/`sleep` are injectable too."""

    def __init__(self, host: str, port: int, user: str, pkey: paramiko.PKey,
                 policy: PinnedHostKeyPolicy, *, client_factory=paramiko.SSHClient,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.host, self.port, self.user, self.pkey = host, port, user, pkey
        self.policy = policy
        self._factory = client_factory
        self._clock = clock
        self._sleep = sleep
        self._client = None
        self.attempts = 0
        self.last_error: str = ""
        self.open_timeout = 15.0

    def _try_connect(self, timeout: float):
        client = self._factory()
        client.set_missing_host_key_policy(self.policy)
        try:
            client.connect(self.host, port=self.port, username=self.user, pkey=self.pkey,
                           allow_agent=False, look_for_keys=False, timeout=timeout,
                           banner_timeout=timeout, auth_timeout=timeout)
        except BaseException:
            client.close()
            raise
        return client

    def connect(self, deadline: float, alive: Callable[[], bool] = lambda: True,
                first_delay: float = 1.0, max_delay: float = 8.0) -> None:
        """Retry until connected, `deadline` (a clock() value) passes, or `alive()`
        turns False (the VM died). A changed host key is never retried."""
        delay = first_delay
        while True:
            if not alive():
                raise BootError(f"VM stopped before SSH came up ({self.last_error or 'no attempt'})")
            left = deadline - self._clock()
            if left <= 0:
                raise BootError(f"no SSH on {self.host}:{self.port} after {self.attempts} "
                                f"attempts: {self.last_error}")
            self.attempts += 1
            try:
                self._client = self._try_connect(max(1.0, min(20.0, left)))
                return
            except HostKeyMismatch as e:
                raise InfraError(f"refusing the guest: {e}") from e
            except RETRYABLE as e:
                self.last_error = f"{type(e).__name__}: {e}"
            self._sleep(max(0.0, min(delay, deadline - self._clock())))
            delay = min(delay * 2, max_delay)

    @property
    def connected(self) -> bool:
        if self._client is None:
            return False
        t = self._client.get_transport()
        return t is not None and t.is_active()

    def _channel(self):
        if self._client is None:
            raise InfraError("SSH session is not connected")
        try:
            t = self._client.get_transport()
            if t is None or not t.is_active():
                raise InfraError("SSH connection to the guest is gone")
            return t.open_session(timeout=self.open_timeout)
        except (paramiko.SSHException, EOFError, OSError) as e:
            raise InfraError(f"SSH connection to the guest is gone: {e}") from e

    def run(self, command: str, timeout: float, on_stdout: Callable[[bytes], None],
            on_stderr: Callable[[bytes], None]) -> tuple[int | None, bool, float]:
        """Run a shell command line on the guest, feeding output to the callbacks as
        it arrives. Returns (exit status or None, timed out on the host, seconds)."""
        start = self._clock()
        chan = self._channel()
        try:
            chan.settimeout(0.0)
            chan.exec_command(command)
            while True:
                got = _drain(chan, on_stdout, on_stderr)
                if chan.exit_status_ready() and not chan.recv_ready() \
                        and not chan.recv_stderr_ready():
                    _drain(chan, on_stdout, on_stderr)
                    return chan.recv_exit_status(), False, self._clock() - start
                if chan.closed and not got:
                    return None, False, self._clock() - start
                if self._clock() - start > timeout:
                    return None, True, self._clock() - start
                if not got:
                    self._sleep(0.05)
        except (OSError, EOFError, paramiko.SSHException) as e:
            raise InfraError(f"SSH command failed: {e}") from e
        finally:
            chan.close()

    def exec(self, command: str, timeout: float) -> ExecResult:
        """Run a command; its output is kept in memory up to EXEC_CAP per stream
        (the last bytes, after a note saying how many were dropped)."""
        out, err = TailBuffer(EXEC_CAP), TailBuffer(EXEC_CAP)
        rc, to, took = self.run(command, timeout, out.add, err.add)
        return ExecResult(rc, out.text(), err.text(), to, took, out.dropped + err.dropped)

    def stream(self, command: str, out_path: Path, timeout: float) -> ExecResult:
        """Like exec, but stdout and stderr are appended to `out_path` as they come
        (flushed per chunk), so a killed run leaves its output on disk."""
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        saved, dropped = 0, 0
        with open(out_path, "ab") as f:
            def write(chunk: bytes) -> None:
                nonlocal saved, dropped
                room = max(0, STREAM_CAP - saved)
                if room:
                    f.write(chunk[:room])
                    f.flush()
                saved += min(room, len(chunk))
                dropped += len(chunk) - min(room, len(chunk))
            rc, to, took = self.run(command, timeout, write, write)
            if dropped:
                f.write(f"\n[kharness: output past {STREAM_CAP} bytes not saved: "
                        f"{dropped} bytes dropped]\n".encode())
        return ExecResult(rc, "", "", to, took, dropped)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class TailBuffer:
    """The last `cap` bytes fed to it, and how many were dropped before them."""

    def __init__(self, cap: int):
        self.cap, self.buf, self.dropped = cap, bytearray(), 0

    def add(self, chunk: bytes) -> None:
        self.buf.extend(chunk)
        over = len(self.buf) - self.cap
        if over > 0:
            del self.buf[:over]
            self.dropped += over

    def text(self) -> str:
        body = self.buf.decode(errors="replace")
        if not self.dropped:
            return body
        return f"[kharness: first {self.dropped} bytes of output dropped (cap {self.cap})]\n" + body


def _drain(chan, on_stdout, on_stderr) -> bool:
    got = False
    while chan.recv_ready():
        data = chan.recv(65536)
        if not data:
            break
        on_stdout(data)
        got = True
    while chan.recv_stderr_ready():
        data = chan.recv_stderr(65536)
        if not data:
            break
        on_stderr(data)
        got = True
    return got
