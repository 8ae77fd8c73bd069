"""The entry points turn SIGTERM/SIGHUP into the Ctrl-C path, so teardown runs."""
import os
import signal

import pytest

from common.cli import install_signal_handlers


@pytest.fixture
def saved_handlers():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_signals_raise_keyboardinterrupt(saved_handlers, sig):
    signal.signal(signal.SIGINT, signal.SIG_IGN)      # as a shell's background job has it
    install_signal_handlers()
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), sig)
