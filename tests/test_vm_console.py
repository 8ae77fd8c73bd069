"""Console capture and boot-failure classification."""
import io
import os
import time

from pathlib import Path

import pytest

from vm.console import (NO_INIT, NO_NET, NO_SSH, PANIC, ConsoleCapture, classify_failure,
                        network_race)

RACE = (Path(__file__).parent / "data" / "logs" / "console-nic-rename-race.log"
        ).read_text().splitlines()


def test_classify_panic_no_init_and_no_ssh():
    panic = ["[1.0] BUG: kernel NULL pointer dereference",
             "[1.1] Kernel panic - not syncing: Fatal exception"]
    assert classify_failure(panic, timed_out=False).kind == PANIC
    no_init = ["[1.3] Run /x/virtme-ng-init as init process",
               "[1.3] Kernel panic - not syncing: Requested init /x/virtme-ng-init failed (error -2)."]
    assert classify_failure(no_init, timed_out=False).kind == NO_INIT
    assert classify_failure(["VFS: Unable to mount root fs on unknown-block(0,0)"],
                            timed_out=True).kind == NO_INIT
    got = classify_failure(["[2.0] virtme-ng-init: initialization done"], timed_out=True)
    assert got.kind == NO_SSH and "SSH never answered" in got.detail
    got = classify_failure(["Decompressing Linux..."], timed_out=True)
    assert got.kind == NO_SSH and "never reached init" in got.detail
    assert classify_failure(["[2.0] all fine"], timed_out=False) is None


def test_capture_writes_every_byte_and_splits_lines(tmp_path):
    r, w = os.pipe()
    log = tmp_path / "c" / "console.log"
    cap = ConsoleCapture(io.open(r, "rb", buffering=0), log)
    os.write(w, b"first li")
    deadline = time.monotonic() + 5
    assert log.exists()                           # created before any byte arrives
    while cap.lines() != ["first li"] and time.monotonic() < deadline:
        time.sleep(0.01)
    assert log.read_bytes() == b"first li"        # on disk before the line ends
    assert cap.lines() == ["first li"] and cap.count() == 0
    os.write(w, b"ne\r\nsecond\n\xff third")
    os.close(w)
    cap.join()
    assert cap.closed
    assert log.read_bytes() == b"first line\r\nsecond\n\xff third"
    assert cap.lines() == ["first line", "second", "\ufffd third"]
    assert cap.tail(2) == ["second", "\ufffd third"]


def test_a_boot_that_lost_its_nic_to_the_rename_race_is_no_network():
    got = classify_failure(RACE, timed_out=True)
    assert got.kind == NO_NET
    assert got.detail.startswith("init ran but SSH never answered: the guest's NIC was "
                                 "renamed under its DHCP client")
    assert "enp0s5: renamed from eth0" in got.detail and 'find device "eth0"' in got.detail
    assert classify_failure(RACE, timed_out=False) is None     # not a failure by itself


@pytest.mark.parametrize("drop", ["renamed from eth0", "Cannot find device"])
def test_one_trace_of_the_race_alone_is_plain_no_ssh(drop):
    lines = [ln for ln in RACE if drop not in ln]
    assert network_race(lines) is None
    assert classify_failure(lines, timed_out=True).kind == NO_SSH
