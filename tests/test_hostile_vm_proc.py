"""Issue 25, faults: a timeout kills the whole tree (also descendants that left
the process group or were re-parented to init), and every child dies with the
harness, SIGKILL included (parent-death signal)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.errors import StageTimeout
from common.proc import Runner, tree_pids

ROOT = Path(__file__).resolve().parents[1]


def procs_with(arg: str) -> list[int]:
    """Live processes whose argv holds `arg`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if arg.encode() in argv and state != "Z":
            found.append(int(entry.name))
    return found


def gone_soon(arg: str, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while procs_with(arg):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.mark.parametrize("script", [
    "setsid sleep {s} & sleep {s}; wait",            # left the group, parent alive
    "(setsid sleep {s} &); sleep {s}",               # re-parented to init
], ids=["setsid-child", "reparented"])
@pytest.mark.parametrize("logged", [False, True], ids=["captured", "logged"])
def test_one_second_timeout_takes_a_second_and_leaves_nothing(tmp_path, script, logged):
    secs = f"{17 + logged}.{len(script)}{os.getpid() % 97}"
    log = tmp_path / "out.log" if logged else None
    start = time.monotonic()
    with pytest.raises(StageTimeout):
        Runner().run(["sh", "-c", script.format(s=secs)], timeout=1, log=log)
    took = time.monotonic() - start
    left = procs_with(secs)
    for p in left:
        os.kill(p, signal.SIGKILL)
    assert took < 3.0, f"a 1 s timeout took {took:.1f}s"
    assert not left, f"left behind: {left}"


def test_tree_pids_finds_reparented_descendants_by_token():
    p = Runner().popen(["sh", "-c", "(setsid sleep 29.5 &); sleep 29.5"])
    try:
        deadline = time.monotonic() + 5
        while len(procs_with("29.5")) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        sleeps = set(procs_with("29.5"))
        assert len(sleeps) == 2
        assert sleeps <= tree_pids(p.pid, p.kh_token)
    finally:
        from common.proc import kill_tree
        kill_tree(p, grace=0.5)
    assert gone_soon("29.5")


def test_children_die_when_the_harness_is_sigkilled():
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); from common.proc import Runner; "
            "p = Runner().popen(['sleep', '28.25']); print(p.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code, str(ROOT)], stdout=subprocess.PIPE,
                              text=True)
    try:
        child = int(parent.stdout.readline())
        assert procs_with("28.25") == [child]
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        assert gone_soon("28.25"), "the child outlived its SIGKILLed parent"
    finally:
        parent.kill()
        for p in procs_with("28.25"):
            os.kill(p, signal.SIGKILL)
