"""Progress lines of a long stage: live on a TTY, one line every 30 s off a TTY,
with an ETA from the stage's rate or its recorded duration (a fake stage, a fake clock)."""
from __future__ import annotations

import io

from common.progress import Meter, Progress, eta_text


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def fake_stage(progress, clock, seconds: int, total: int) -> list[str]:
    """A stage of `total` steps over `seconds`, one update a second."""
    m = Meter(progress, "selftests-build", total, "BPF objects", recorded=None)
    lines = []
    for t in range(1, seconds + 1):
        clock.now += 1
        lines.append(m.update(total * t // seconds))
    return lines


def test_off_tty_one_line_every_30s():
    clock, buf = Clock(), io.StringIO()
    p = Progress(stream=buf, clock=clock)
    t = p.start("selftests-build")
    fake_stage(p, clock, 95, 824)
    p.end("selftests-build", t, "ok")
    out = buf.getvalue().splitlines()
    meters = [x for x in out if "BPF objects" in x]
    assert len(meters) == 3          # 30, 60 and 90 s after the first update (at 1 s)
    assert meters[0] == "[selftests-build] 268/824 BPF objects, ETA 1m04s"
    assert "\r" not in buf.getvalue() and out[-1].startswith("[selftests-build] ok in ")


def test_off_tty_short_stage_prints_no_counter():
    clock, buf = Clock(), io.StringIO()
    p = Progress(stream=buf, clock=clock)
    fake_stage(p, clock, 20, 100)
    assert buf.getvalue() == ""


def test_tty_live_line_each_update_with_eta():
    clock, buf = Clock(), Tty()
    p = Progress(stream=buf, clock=clock)
    lines = fake_stage(p, clock, 10, 100)
    assert buf.getvalue().count("\r\033[K[selftests-build] ") == 10
    assert lines[4] == "50/100 BPF objects, ETA 5.0s"
    assert lines[-1] == "100/100 BPF objects, ETA 0.0s"


def test_eta_from_the_recorded_duration_before_the_first_step():
    assert eta_text(0, 10, 12.0, "tests", recorded=100.0) == "0/10 tests, ETA 1m28s"
    assert eta_text(0, 10, 12.0, "tests") == "0/10 tests"
    assert eta_text(3, None, 5.0, "objects") == "3 objects"
