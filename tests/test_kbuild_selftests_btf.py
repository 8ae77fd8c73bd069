"""An incremental selftests build for a kernel whose BTF differs: the earlier BPF
objects are kept (make gets `-o vmlinux.h`) when no BPF source names what the
new vmlinux.h removed or changed, and all are rebuilt otherwise (FakeRunner)."""
import io
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from common.progress import Progress
from kbuild import build_selftests
from kbuild.objdir import Family

from selftests_fakes import base_runner, git_runner
# cache_home (autouse: a private HARNESS_CACHE) and tree are that module's fixtures
from test_kbuild_selftests import (STALE, cache_home, fake_selftests_make,  # noqa: F401
                                   out_dir, sreq, tree)

DATA = Path(__file__).parent / "data" / "btf"
OLD_MTIME = 1_700_000_000


def excerpt(case: str, version: str) -> str:
    return (DATA / f"{case}.{version}.h").read_text()


def first_build(tree: Path, header: str, bpftool: bool = True, btf: bytes = b"") -> Path:
    """A full build whose output has the Makefile's vmlinux.h (dumped long ago),
    unless told otherwise its bpftool, and an object for each prog whose strings
    hold `btf` (a type or kfunc name of its BTF). Returns the output dir."""
    def make(argv):
        fake_selftests_make(argv)
        out = out_dir(argv)
        for src in (tree / "tools/testing/selftests/bpf/progs").glob("*.c"):
            for d in (out, out / "cpuv4"):
                d.mkdir(exist_ok=True)
                (d / f"{src.stem}.bpf.o").write_bytes(b"\x7fELF\0" + btf + b"\0mode\0")
        (out / "tools/include").mkdir(parents=True, exist_ok=True)
        (out / "tools/include/vmlinux.h").write_text(header)
        os.utime(out / "tools/include/vmlinux.h", (OLD_MTIME, OLD_MTIME))
        if bpftool:
            (out / "tools/sbin").mkdir(parents=True, exist_ok=True)
            (out / "tools/sbin/bpftool").write_text("#!elf")
    build_selftests(sreq(tree), base_runner(effect=make))
    return Family("linux-bpf-gcc").root / "selftests-bpf"


def next_build(tree: Path, dump: str | None, bpftool_rc: int = 0, make_first=None):
    """The build for the next kernel: bpftool prints `dump`. Returns the result,
    the make argvs, the bpftool calls and the progress text."""
    fr = git_runner("b" * 40)
    fr.on(lambda a: a[1:3] == ["btf", "dump"], returncode=bpftool_rc, stdout=dump or "")
    if make_first is not None:
        make_first(fr)
    fr.on(lambda a: "make" in a)
    buf = io.StringIO()
    res = build_selftests(sreq(tree), fr, Progress(stream=buf, quiet=True))
    makes = [c["argv"] for c in fr.calls if "make" in c["argv"] and "-C" in c["argv"]]
    dumps = [c["argv"] for c in fr.calls if c["argv"][1:3] == ["btf", "dump"]]
    return res, makes, dumps, buf.getvalue()


def info(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if "vmlinux.h:" in ln]


@pytest.mark.parametrize("case, old, new, source, btf, kept, line", [
    ("new-type", "6.12", "6.18", "", b"", True, "1 type added; BPF objects kept (CO-RE)"),
    # back to the base: the series' type is gone, and no kept object holds it
    ("new-type", "6.18", "6.12", "int lock(struct bpf_res_spin_lock *l);", b"", True,
     "nothing added, 1 change no BPF object sees; BPF objects kept (CO-RE)"),
    ("new-type", "6.18", "6.12", "", b"bpf_res_spin_lock", False,
     "removed type struct bpf_res_spin_lock matter to the BPF objects; "
     "all BPF objects rebuilt"),
    # a source spelling the member is not enough: the object must hold its struct
    ("inline-enum", "6.12", "6.18", "if (timer->mode == 1) return 0;", b"", True,
     "nothing added, 3 changes no BPF object sees; BPF objects kept (CO-RE)"),
    ("inline-enum", "6.12", "6.18", "if (timer->mode == 1) return 0;", b"bpf_test_timer",
     False, "removed member struct bpf_test_timer.mode matter to the BPF objects; "
     "all BPF objects rebuilt"),
    ("enum-values", "6.12", "6.18", "int f = BIO_QUIET | BIO_CHAIN | BIO_REFFED | BIO_REMAPPED;",
     b"", False, "enumerator value BIO_QUIET (3 -> 2), enumerator value BIO_CHAIN (4 -> 3), "
     "enumerator value BIO_REFFED (5 -> 4) (+1 more) matter to the BPF objects; "
     "all BPF objects rebuilt"),
])
def test_bpf_objects_kept_exactly_when_the_new_btf_leaves_them_good(tree, case, old, new,
                                                                    source, btf, kept, line):
    progs = tree / "tools/testing/selftests/bpf/progs"
    progs.mkdir()
    (progs / "timer.c").write_text(f'#include "vmlinux.h"\n{source}\n')
    out = first_build(tree, excerpt(case, old), btf=btf)
    res, makes, dumps, text = next_build(tree, excerpt(case, new))
    header = out / "tools/include/vmlinux.h"
    assert dumps == [[str(out / "tools/sbin/bpftool"), "btf", "dump", "file",
                      str(tree / ".kharness-build/vmlinux"), "format", "c"]]
    assert len(makes) == 1 and makes[0][-1] == "test_progs"
    assume = ["-o", f"{out}//tools/include/vmlinux.h"]
    assert (makes[0][-3:-1] == assume) == kept and ("-o" in makes[0]) == kept
    assert info(text) == [f"[selftests-build] vmlinux.h: {line}"] and res.vmlinux_h == line
    # kept: the new types for the progs make compiles again, under the old mtime
    assert header.read_text() == excerpt(case, new if kept else old)
    assert header.stat().st_mtime == OLD_MTIME


def test_an_object_make_compiles_again_or_drops_does_not_count(tree):
    """The object holding the removed type is older than its changed source (make
    compiles it against the new vmlinux.h), and another one's prog is gone from the
    tree: neither keeps the objects from staying."""
    progs = tree / "tools/testing/selftests/bpf/progs"
    progs.mkdir()
    (progs / "timer.c").write_text("int x;\n")
    out = first_build(tree, excerpt("new-type", "6.18"), btf=b"bpf_res_spin_lock")
    (out / "gone.bpf.o").write_bytes(b"\0bpf_res_spin_lock\0")
    later = (out / "timer.bpf.o").stat().st_mtime + 5
    os.utime(progs / "timer.c", (later, later))
    res, makes, _, _ = next_build(tree, excerpt("new-type", "6.12"))
    assert "-o" in makes[0]
    assert res.vmlinux_h == "nothing added, 1 change no BPF object sees; BPF objects kept (CO-RE)"


def test_an_identical_dump_leaves_it_to_make(tree):
    out = first_build(tree, excerpt("kfuncs", "6.18"))
    res, makes, dumps, text = next_build(tree, excerpt("kfuncs", "6.18"))
    assert len(dumps) == 1 and "-o" not in makes[0] and info(text) == []
    assert res.vmlinux_h == "unchanged"
    assert (out / "tools/include/vmlinux.h").stat().st_mtime == OLD_MTIME


def test_no_bpftool_in_the_output_changes_nothing(tree):
    first_build(tree, excerpt("kfuncs", "6.12"), bpftool=False)
    res, makes, dumps, text = next_build(tree, excerpt("kfuncs", "6.18"))
    assert dumps == [] and "-o" not in makes[0] and info(text) == [] and res.vmlinux_h is None


def test_a_fresh_output_dumps_nothing(tree):
    res, makes, dumps, _ = next_build(tree, excerpt("kfuncs", "6.18"))
    assert dumps == [] and "-o" not in makes[0] and res.vmlinux_h is None


def test_a_failed_dump_leaves_it_to_make(tree):
    first_build(tree, excerpt("kfuncs", "6.12"))
    res, makes, dumps, text = next_build(tree, "", bpftool_rc=255)
    assert len(dumps) == 1 and "-o" not in makes[0]
    assert info(text) == ["[selftests-build] vmlinux.h: bpftool could not dump the new "
                          "kernel's BTF; make decides"]


def test_an_output_restarted_from_nothing_makes_vmlinux_h_again(tree):
    """A stale output is emptied and built again: there is no vmlinux.h to hold."""
    first_build(tree, excerpt("new-type", "6.12"))
    seen = []

    def stale_once(fr):
        fr.on(lambda a: "make" in a and not seen, returncode=2, stdout=STALE,
              effect=lambda argv: seen.append(argv))
        fr.on(lambda a: "make" in a, effect=lambda argv: seen.append(argv))
    res, makes, _, _ = next_build(tree, excerpt("new-type", "6.18"), make_first=stale_once)
    assert "-o" in makes[0] and "-o" not in makes[1] and res.vmlinux_h is None


def test_the_decision_is_in_the_stage_data(tree, tmp_path, monkeypatch):
    """summary.json's selftests-build stage carries what became of vmlinux.h."""
    from common.progress import Progress as P
    from pipeline.check import JobPlan
    from pipeline.context import StageReport
    from pipeline.run import run_job
    from pipeline.job import JobSpec
    from pipeline.stages import stage_selftests_build
    from selftests.suite import load_suite

    first_build(tree, excerpt("new-type", "6.12"))
    fr = git_runner("b" * 40)
    fr.on(lambda a: a[1:3] == ["btf", "dump"], stdout=excerpt("new-type", "6.18"))
    fr.on(lambda a: "make" in a, effect=fake_selftests_make)

    def build(ctx):
        ctx.worktree = tree
        ctx.build = SimpleNamespace(bzimage=tmp_path / "bzImage", key="k" * 64,
                                    family="linux-bpf-gcc")
        return StageReport("built", cached=True)
    plan = JobPlan(JobSpec(), suites=(load_suite("fanotify-bpf"),))
    res = run_job(plan, [("build", build), ("selftests-build", stage_selftests_build)], fr,
                  P(stream=io.StringIO()), tmp_path / "runs", run_id="r1")
    stage = {s.name: s for s in res.summary.stages}["selftests-build"]
    assert stage.status == "ok"
    assert stage.data == {"vmlinux_h": "1 type added; BPF objects kept (CO-RE)"}


def test_going_back_from_fanotify_keeps_objects_that_only_point_to_ucounts(tree):
    """The shrunk `ucount[12]` -> `[10]` going back from fanotify-bpf's kernel: the
    kept objects (a recorded real one, kbuild/btfobj) hold `struct ucounts` only as
    a FWD, so they stay; the name in their strings used to rebuild them all."""
    progs = tree / "tools/testing/selftests/bpf/progs"
    progs.mkdir()
    (progs / "timer.c").write_text('#include "vmlinux.h"\n')
    out = first_build(tree, excerpt("ucounts", "fanotify"))
    real = (Path(__file__).parent / "data" / "bpfobj" / "raw_tp_null.btf.o").read_bytes()
    assert b"\0ucounts\0" in real
    for o in out.rglob("*.bpf.o"):
        o.write_bytes(real)
    res, makes, dumps, text = next_build(tree, excerpt("ucounts", "6.12"))
    assert makes[0][-3:-1] == ["-o", f"{out}//tools/include/vmlinux.h"]
    assert info(text) == ["[selftests-build] vmlinux.h: nothing added, 1 change no BPF "
                          "object sees; BPF objects kept (CO-RE)"]
