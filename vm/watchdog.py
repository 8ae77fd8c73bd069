"""A VM's watchdog: `python -m vm.watchdog RECORD LIMIT`, started by vm.boot
with a pipe on its stdin that only the harness holds, in its own session and
without a parent-death signal, so it outlives the harness.

- EOF on stdin with the VM's record (vm.state) still on disk means the harness
  died without tearing the VM down (SIGKILL, OOM): it kills every process of
  the VM's tree token, removes the temp home (the SSH key), and marks the
  record `reaped` so the next run reports it. After a normal teardown the
  record is gone and it just exits.
- LIMIT seconds after the start (the VM's lifetime limit) it kills the VM even
  if the harness is alive but stuck.
"""
from __future__ import annotations

import os
import select
import sys
import time
from pathlib import Path

from common.proc import kill_token

from .state import load, reap, records_lock


def wait_for_eof(limit: float, on_limit) -> None:
    """Block until stdin is closed; call `on_limit` once when `limit` s pass."""
    deadline = time.monotonic() + limit if limit > 0 else None
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([0], [], [], left)
        if ready:
            if not os.read(0, 4096):
                return
            continue
        on_limit()
        deadline = None


def main(argv: list[str]) -> int:
    record, limit = Path(argv[1]), float(argv[2])

    def lifetime_over() -> None:
        rec = load(record)
        if rec is not None:
            kill_token(rec.token)
    wait_for_eof(limit, lifetime_over)
    with records_lock():            # the next run's cleanup may be at the same record
        rec = load(record)
        if rec is None or rec.reaped:
            return 0
        rec.reaped = reap(rec)
        rec.save()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
