"""Another process that takes a lock (a running job using a build, a worktree or a
build dir) and keeps it until the test ends: the cache gc tests' "in use"."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from common.fsutil import REPO_ROOT


@pytest.fixture
def holder():
    """Another process (a running job) that runs `code`, prints 'held' and keeps
    what it took until the test ends (or until `end(p)`)."""
    procs = []

    def hold(code: str):
        p = subprocess.Popen([sys.executable, "-c", code + "\nprint('held', flush=True)\n"
                              "import sys; sys.stdin.read()"],
                             cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})
        assert p.stdout.readline().strip() == "held"
        procs.append(p)
        return p
    yield hold
    for p in procs:
        end(p)


def end(p) -> None:
    if not p.stdin.closed:
        p.stdin.close()
    p.wait(30)
