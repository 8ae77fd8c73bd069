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


def test_selftests_build_counts_bpf_objects_and_records_the_total(tmp_path, monkeypatch):
    """The selftests build's progress: CLNG-BPF lines done out of the last full
    build's count (kbuild/selftests.py records it in the family's dir)."""
    import json

    from common.proc import FakeRunner
    from kbuild import SelftestsRequest, build_selftests
    from kbuild.objdir import Family
    from kbuild.progress_watch import BPF_LINE, LogWatcher, count_objects
    from test_kbuild_fakes import make_tree

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    tree = make_tree(tmp_path)
    (tree / "tools/testing/selftests/bpf").mkdir(parents=True)
    (tree / "tools/testing/selftests/bpf/Makefile").write_text("# fake\n")
    fam = Family("linux-bpf-gcc")
    fam.obj.mkdir(parents=True)
    (fam.obj / "vmlinux").write_bytes(b"ELF")
    out = "".join(f"  CLNG-BPF [test_progs] p{i}.bpf.o\n  GEN-SKEL [test_progs] p{i}.skel.h\n"
                  for i in range(7)) + "  CC      [test_progs] x.o\n"
    assert count_objects(out.encode(), BPF_LINE) == 7
    fr = FakeRunner()
    fr.on(lambda a: len(a) == 2 and a[1] == "--version", stdout="tool 1\n")
    fr.on("rev-parse HEAD", stdout="a" * 40 + "\n").on("status --porcelain", stdout="")
    fr.on("ls-files -z", stdout="").on("--name-only -z", stdout="")
    fr.on(lambda a: "make" in a, stdout=out)
    build_selftests(SelftestsRequest(tree=tree, kernel_key="k" * 64, family=fam.name,
                                     nice=False), fr)
    stats = json.loads((fam.root / "selftests-stats.json").read_text())
    assert stats["bpf_objects"] == 7 and stats["per_object"] >= 0
    log = tmp_path / "s.log"
    log.write_text(out[:out.index("p3.bpf.o")])
    w = LogWatcher(log, None, "selftests-build", 7, 2.0, pattern=BPF_LINE, unit="BPF objects")
    assert w.poll() == 3 and w.line() == "3/7 BPF objects, ETA 8.0s"   # p3 half-written
