"""What every command-line entry point (harness.py, python -m bench) shares:
signals that take the Ctrl-C path, and typed errors mapped to exit codes."""
from __future__ import annotations

import signal
import sys
from typing import Callable

from .errors import EXIT_INFRA, HarnessError


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


def run_guarded(prog: str, fn: Callable[[], int]) -> int:
    """Run `fn` with the signal handlers installed; a typed error, an interrupt or
    an OS error becomes a message on stderr and its exit code."""
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
