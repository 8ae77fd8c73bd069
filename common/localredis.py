"""A private redis-server on a free loopback port: the shared ccache remote that
`make bench` (figure 9) and the shared-cache tests start as two "machines" would
reach a real one. No persistence; stopped (terminate, then kill) when the block ends,
whatever happened inside it."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from common.errors import InfraError

START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port: int) -> bool:
    """True when a redis server on 127.0.0.1:port answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def redis_server(workdir: Path):
    """Yield the `redis://127.0.0.1:PORT` URL of a fresh server whose dir is workdir."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise InfraError("redis-server is missing: run `make setup` (scripts/setup.sh "
                         "installs it)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise InfraError(f"redis-server on port {port} did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        _stop(proc)
