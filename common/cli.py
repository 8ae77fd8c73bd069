"""What every command-line entry point (harness.py, python -m bench) shares:
signals that take the Ctrl-C path, and typed errors mapped to exit codes."""
from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Callable

from .errors import EXIT_INFRA, HarnessError
from .fsutil import results_root


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def install_signal_handlers() -> None:
    """SIGTERM and SIGHUP (a CI timeout, a closed terminal) take the same path as
    Ctrl-C, so every `finally` runs: builds and VMs are torn down, partial results
    written. SIGINT is restored too, as a shell starts background jobs with it
    ignored."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)


def crash_dir() -> Path:
    """Where a harness bug's traceback is kept: <results root>/crashes/."""
    return results_root() / "crashes"


def keep_crash(prog: str) -> Path | None:
    """Write the traceback being handled to the results root; its path, or None
    when even that cannot be written."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = crash_dir() / f"{stamp}-{prog}-{os.getpid()}.txt"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(" ".join(sys.argv) + "\n\n" + traceback.format_exc())
    except OSError:
        return None
    return path


def run_guarded(prog: str, fn: Callable[[], int]) -> int:
    """Run `fn` with the signal handlers installed; a typed error, an interrupt or
    an OS error becomes a message on stderr and its exit code. Any other exception
    is a bug of the harness: an infrastructure error (exit 7), never a verdict,
    with its traceback printed and kept under the results root."""
    install_signal_handlers()
    try:
        return int(fn() or 0)
    except HarnessError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except OSError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_INFRA
    except Exception as e:  # noqa: BLE001 - the last line of defence: exit 7, not 1
        traceback.print_exc()
        kept = keep_crash(prog)
        where = f" (traceback: {kept})" if kept else ""
        print(f"{prog}: internal error: {type(e).__name__}: {e}{where}", file=sys.stderr)
        return EXIT_INFRA
