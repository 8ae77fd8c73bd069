"""Progress lines of a long stage: live on a TTY, one line every 30 s off a TTY,
with an ETA from the stage's rate or its recorded duration (a fake stage, a fake clock)."""
from __future__ import annotations

import io
import json
import time
from types import SimpleNamespace

import pytest

from common.progress import Durations, Meter, Progress, eta_text


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
    from kbuild import SelftestsRequest, build_selftests
    from kbuild.objdir import Family
    from kbuild.progress_watch import BPF_LINE, LogWatcher, count_objects
    from selftests_fakes import FAMILY, base_runner, bpf_tree

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    tree = bpf_tree(tmp_path)
    out = "".join(f"  CLNG-BPF [test_progs] p{i}.bpf.o\n  GEN-SKEL [test_progs] p{i}.skel.h\n"
                  for i in range(7)) + "  CC      [test_progs] x.o\n"
    assert count_objects(out.encode(), BPF_LINE) == 7
    build_selftests(SelftestsRequest(tree=tree, kernel_key="k" * 64, family=FAMILY,
                                     nice=False), base_runner(make_out=out))
    stats = json.loads((Family(FAMILY).root / "selftests-stats.json").read_text())
    assert stats["bpf_objects"] == 7 and stats["per_object"] >= 0
    log = tmp_path / "s.log"
    log.write_text(out[:out.index("p3.bpf.o")])
    w = LogWatcher(log, None, "selftests-build", 7, 2.0, pattern=BPF_LINE, unit="BPF objects")
    assert w.poll() == 3 and w.line() == "3/7 BPF objects, ETA 8.0s"   # p3 half-written


# --- the stages whose work happens elsewhere: a Ticker thread prints their lines ---

@pytest.fixture
def fast(monkeypatch, tmp_path):
    """Tickers tick every 10 ms; durations are recorded in this test's own file."""
    import common.progress
    monkeypatch.setattr(common.progress, "TICK", 0.01)
    monkeypatch.setenv("KHARNESS_DURATIONS", str(tmp_path / "durations.json"))
    return Durations()


def wait_for(cond, what: str = "") -> None:
    end = time.monotonic() + 5
    while not cond():
        assert time.monotonic() < end, f"timed out waiting for {what}"
        time.sleep(0.005)


def next_line(buf) -> str:
    """The first live line begun after this call (two ticks on: one may have read the
    state before the caller changed it)."""
    for _ in range(2):
        n = len(buf.getvalue())
        wait_for(lambda: len(buf.getvalue()) > n, "a tick")
    return live(buf)[0]


def job_ctx(clock, stream, **kw):
    spec = SimpleNamespace(tree="debian-6.12", accel=None,
                           job_parts=lambda: ["fixture", "v2", "bpf-gcc-default"])
    plan = SimpleNamespace(arch="x86_64", revision=SimpleNamespace(patches=3))
    return SimpleNamespace(spec=spec, plan=plan, progress=Progress(stream=stream, clock=clock),
                           build=SimpleNamespace(key="k" * 64), vm=None, **kw)


def live(buf) -> list[str]:
    """The live lines a TTY stream was given, last first."""
    return [x for x in reversed(buf.getvalue().split("\r\033[K")) if x]


def test_boot_time_to_ssh_against_the_last_boot_of_the_same_kernel_and_accel(fast):
    from pipeline.stages import _boot_with_progress
    clock, buf = Clock(), Tty()
    ctx = job_ctx(clock, buf)
    vm = SimpleNamespace(probe=SimpleNamespace(accel="kvm"))

    def boot(took):
        def fn():
            clock.now += took
            next_line(buf)
            return vm
        return fn
    _boot_with_progress(ctx, boot(60.0))
    assert live(buf)[0] == "[boot] 1m00s"                   # nothing recorded yet
    assert fast.get("boot:" + "k" * 64 + ":auto") == {"seconds": 60.0, "accel": "kvm"}
    _boot_with_progress(ctx, boot(15.0))
    assert live(buf)[0] == "[boot] 15.0s of 1m00s last time, ETA 45.0s"
    ctx.build.key = "n" * 64                                 # another kernel: no record
    _boot_with_progress(ctx, boot(5.0))
    assert live(buf)[0] == "[boot] 5.0s"


def test_boot_off_a_tty_one_line_every_30s(fast):
    from pipeline.stages import _boot_with_progress
    clock, buf = Clock(), io.StringIO()
    ctx = job_ctx(clock, buf)
    fast.record("boot:" + "k" * 64 + ":auto", 100.0)

    def boot():
        wait_for(lambda: "boot" in ctx.progress._last, "the first tick")
        clock.now += 29
        time.sleep(0.05)
        assert buf.getvalue() == ""                          # not 30 s yet
        clock.now += 2
        wait_for(lambda: buf.getvalue(), "the 30 s line")
        return SimpleNamespace(probe=SimpleNamespace(accel="tcg"))
    _boot_with_progress(ctx, boot)
    assert buf.getvalue().splitlines()[0].startswith("[boot] 31.")
    assert "of 1m40s last time, ETA 1m0" in buf.getvalue()


def test_tree_import_against_the_last_import_and_patches_applied_out_of_total(fast):
    from common.proc import FakeRunner
    from pipeline.stages import _apply_with_progress, _import_with_progress
    clock, buf = Clock(), Tty()
    ctx = job_ctx(clock, buf, runner=FakeRunner().on("am"))

    def unpack(took, reused=False):
        def fn():
            clock.now += took
            next_line(buf)
            return SimpleNamespace(reused=reused)
        return fn
    _import_with_progress(ctx, unpack(120.0))
    _import_with_progress(ctx, unpack(30.0))
    assert live(buf)[0] == "[apply] 30.0s of 2m00s last time, ETA 1m30s"
    _import_with_progress(ctx, unpack(1.0, reused=True))     # a reused tree records nothing
    assert fast.seconds("import:debian-6.12") == 30.0         # the last real import
    seen = []

    def apply(runner):
        for i in range(3):
            clock.now += 10
            runner.run(["git", "-C", "/wt", "am", "--3way", f"p{i}.patch"])
            seen.append(next_line(buf))
        return "applied"
    assert _apply_with_progress(ctx, apply) == "applied"
    assert seen == ["[apply] 1/3 patches applied, ETA 20.0s",
                    "[apply] 2/3 patches applied, ETA 10.0s",
                    "[apply] 3/3 patches applied, ETA 0.0s"]
    assert fast.get("apply:debian-6.12:fixture/v2") == {"seconds": 30.0, "count": 3}


def test_tests_done_out_of_the_plan_then_out_of_the_last_runs_count(fast, tmp_path):
    from pipeline.stages import _tests_progress
    clock, buf = Clock(), Tty()
    ctx = job_ctx(clock, buf)
    ctx.vm = SimpleNamespace(expired=False)
    raw = tmp_path / "suites" / "bpf" / "raw"

    def run(lines_by_step, log="001-all.log"):
        out = []
        with _tests_progress(ctx, "bpf", raw):
            raw.mkdir(parents=True, exist_ok=True)
            for lines in lines_by_step:
                with open(raw / log, "a") as f:
                    f.write("".join(x + "\n" for x in lines))
                clock.now += 20
                out.append(next_line(buf))
        return out
    first = run([["TAP version 13", "1..4", "ok 1 a", "  ok 1 sub", "ok 2 b"],
                 ["not ok 3 c", "ok 4 d # SKIP"]])
    assert first == ["[test] 2/4 bpf tests, ETA 20.0s", "[test] 4/4 bpf tests, ETA 0.0s"]
    assert fast.count("tests:debian-6.12:x86_64:bpf") == 4
    for f in raw.iterdir():
        f.unlink()
    second = run([["#1       align:OK", "#2/1     arena/sub:OK", "#2       arena:FAIL"]],
                 log="002-progs.log")
    assert second == ["[test] 2/4 bpf tests, ETA 20.0s"]   # test_progs lines, no plan


def test_matrix_eta_from_the_recorded_durations_of_the_same_jobs(fast):
    from common.progress import MatrixEta
    clock, buf = Clock(), Tty()
    p = Progress(stream=buf, clock=clock)
    fast.record("job:a", 100.0)
    fast.record("job:b", 200.0)
    eta = MatrixEta(p, ["job:a", "job:b", "job:c"])
    assert eta.tick() == "0/3 jobs"                          # job:c never ran: no ETA yet
    clock.now += 90
    assert eta.job_done(0, 90.0, {"build": 60.0, "test": 30.0}) == "1/3 jobs, ETA 4m50s"
    clock.now += 50                                          # job b running for 50 s
    eta.tick()                                               # (its thread's tick)
    p.counter("build", "10/20 objects")
    assert live(buf)[0] == "[matrix] 1/3 jobs, ETA 4m00s | [build] 10/20 objects"
    assert fast.get("job:a") == {"seconds": 90.0, "stages": {"build": 60.0, "test": 30.0}}


def test_matrix_records_each_jobs_duration_for_the_next_runs_eta(fast, tmp_path):
    """Through run_matrix: the second run of the same jobs knows its ETA up front."""
    from common.proc import FakeRunner
    from pipeline.check import JobPlan
    from pipeline.context import StageReport
    from pipeline.job import JobSpec
    from pipeline.multi import MatrixRun, job_key, run_matrix
    plans = [JobPlan(JobSpec(series=s, rev="v1")) for s in ("a", "b")]
    stages = [("build", lambda c: time.sleep(0.01) or StageReport())]   # 10 ms jobs
    run_matrix(plans, tmp_path, "m1", FakeRunner(), Progress(stream=io.StringIO()),
               stages=stages)
    keys = [job_key(p.spec) for p in plans]
    assert keys == ["job:debian-6.12/a/v1/bpf-gcc-default", "job:debian-6.12/b/v1/bpf-gcc-default"]
    assert all(fast.seconds(k) is not None for k in keys)
    again = MatrixRun(plans, tmp_path, "m2", Progress(stream=io.StringIO()), False)
    assert again.eta.eta() is not None and again.eta.line().startswith("0/2 jobs, ETA ")


def test_incremental_build_total_is_what_make_will_remake(tmp_path):
    """The kernel build's total is the objects this build compiles again (kbuild's
    .x.o.cmd dependency records against the sources' mtimes and the changed Kconfig
    symbols), not the family's full build count."""
    import os
    from kbuild.progress_watch import LogWatcher, remake_count
    obj = tmp_path / "build"
    (obj / "fs").mkdir(parents=True)
    (obj / "include/config").mkdir(parents=True)
    src = tmp_path / "src"
    (src / "fs").mkdir(parents=True)
    (obj / ".config").write_text('CONFIG_A=y\nCONFIG_FOO=y\nCONFIG_S="x"\n# CONFIG_B is not set\n')
    (obj / "include/config/auto.conf").write_text("CONFIG_A=y\nCONFIG_FOO=m\nCONFIG_S=x\n")
    (obj / "include/config/FOO").write_text("")
    (src / "fs/h.h").write_text("")

    def obj_file(name, source, deps=(), built=True):
        lines = [f"savedcmd_fs/{name}.o := gcc ...", f"source_fs/{name}.o := {source}",
                 f"deps_fs/{name}.o := \\"] + [f"  {d} \\" for d in deps] + [""]
        (obj / "fs" / f".{name}.o.cmd").write_text("\n".join(lines))
        if built:
            (obj / "fs" / f"{name}.o").write_text("o")
    for f in src.rglob("*"):
        os.utime(f, (1000, 1000))                          # the sources, older than objects
    obj_file("same", "../src/fs/same.c", ["../src/fs/h.h", "$(wildcard include/config/A)"])
    obj_file("gone", "../src/fs/gone.c", built=False)      # removed (new flags, --target)
    obj_file("cfg", "../src/fs/cfg.c", ["    $(wildcard include/config/FOO)"])  # FOO y->m
    obj_file("hdr", "../src/fs/hdr.c", ["../src/fs/h.h"])
    obj_file("asm", "../src/fs/asm.S", built=False)        # not a CC line
    (src / "fs/same.c").write_text("")
    (src / "fs/hdr.c").write_text("")
    os.utime(src / "fs/same.c", (1000, 1000))
    os.utime(src / "fs/hdr.c", (1000, 1000))
    assert remake_count(obj) == 2                          # gone, cfg
    os.utime(src / "fs/h.h")                                # a header changed: now
    assert remake_count(obj) == 4                          # + same, hdr
    assert remake_count(tmp_path / "fresh") is None        # no record: the full count
    log = tmp_path / "build.log"
    log.write_text("  CC      fs/gone.o\n  CC [M]  fs/cfg.o\n  CC      fs/new.o\n")
    w = LogWatcher(log, None, "build", 2, 0.5)
    assert w.poll() == 3 and w.line() == "3/3 objects, ETA 0.0s"   # one new to this .config
