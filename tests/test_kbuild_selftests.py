"""Selftests builds with a FakeRunner: fix-ups, tool variables, per-file errors."""
import os
import shutil
from pathlib import Path

import pytest

from common.errors import ApplyError, BuildError
from common.proc import FakeRunner
from kbuild import (KselftestRequest, SelftestsBuildError, SelftestsRequest, build_kselftest,
                    build_selftests)
from kbuild.objdir import Family
from kbuild.selftests import apply_fixups, llvm_vars

from selftests_fakes import as_worktree, base_runner, bpf_sources, bpf_tree, git_runner
from test_kbuild_fakes import make_tree

LOG = Path(__file__).parent / "data" / "buildlogs" / "selftests-fail.log"


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def tree(tmp_path):
    return bpf_tree(tmp_path)


def out_dir(argv):
    return Path(next(a[7:] for a in argv if a.startswith("OUTPUT=")))


def fake_selftests_make(argv):
    out = out_dir(argv)
    (out / "tools/build").mkdir(parents=True, exist_ok=True)
    (out / "test_progs").write_text("#!bin")
    (out / "fexit.bpf.o").write_text("bpf")
    (out / "fexit.test.o").write_text("obj")
    (out / "bpf_testmod.ko").write_text("ko")


def sreq(tree, **kw):
    return SelftestsRequest(tree=tree, kernel_key="k" * 64, family="linux-bpf-gcc", nice=False,
                            **kw)


def test_builds_with_clang19_against_the_kernel_build_dir(tree):
    fr = base_runner(effect=fake_selftests_make)
    res = build_selftests(sreq(tree), fr)
    argv = next(c["argv"] for c in fr.calls if "make" in c["argv"] and "-C" in c["argv"])
    assert set(llvm_vars("-19")) <= set(argv) and argv[-1] == "test_progs"
    assert f"KBUILD_OUTPUT={tree / '.kharness-build'}" in argv
    assert f"VMLINUX_BTF={tree / '.kharness-build' / 'vmlinux'}" in argv
    names = {p.name for p in (res.artifacts_dir / "bpf").iterdir()}
    assert names == {"test_progs", "fexit.bpf.o", "bpf_testmod.ko"}
    assert not res.cached
    again = build_selftests(sreq(tree), base_runner())
    assert again.cached and again.key == res.key


def test_output_dir_exists_and_errorless_failures_show_the_log_tail(tree):
    def needs_output(argv):
        assert out_dir(argv).is_dir()              # tools/scripts/Makefile.include stops otherwise
    with pytest.raises(SelftestsBuildError) as e:
        build_selftests(sreq(tree), base_runner(make_rc=2, effect=needs_output,
                                                make_out="clang-19: killed by signal 9\n"))
    assert "no compiler error" in str(e.value) and "signal 9" in str(e.value)


def test_failure_is_reported_per_file_with_first_error(tree):
    fr = base_runner(make_rc=2, make_out=LOG.read_text())
    with pytest.raises(SelftestsBuildError) as e:
        build_selftests(sreq(tree), fr)
    assert isinstance(e.value, BuildError) and e.value.exit_code == 5
    assert [x.file for x in e.value.errors] == ["progs/fexit_fixture.c",
                                                "prog_tests/fixture_ops.c",
                                                "prog_tests/fixture_link.c"]
    assert "3 file(s)" in str(e.value)
    assert "progs/fexit_fixture.c:42: error: use of undeclared identifier" in str(e.value)


def test_fixups_apply_skip_when_in_and_fail_when_stale(tmp_path):
    p = tmp_path / "0001-fix.patch"
    p.write_text("diff --git a/x b/x\n")
    fr = FakeRunner().on("apply --check", returncode=0).on("apply", returncode=0)
    assert apply_fixups(fr, tmp_path, [p]) == ["0001-fix.patch"]
    fr = FakeRunner().on("apply --check", returncode=1).on("--reverse --check", returncode=0)
    assert apply_fixups(fr, tmp_path, [p]) == []
    fr = FakeRunner().on("apply --check", returncode=1).on("--reverse --check", returncode=1)
    with pytest.raises(ApplyError) as e:
        apply_fixups(fr, tmp_path, [p])
    assert "0001-fix.patch" in str(e.value)


def test_fixups_change_the_selftests_key(tree, tmp_path):
    p = tmp_path / "fix.patch"
    p.write_text("one\n")
    fr = base_runner(effect=fake_selftests_make).on("apply", returncode=0)
    a = build_selftests(sreq(tree, fixups=[p]), fr)
    p.write_text("two\n")
    b = build_selftests(sreq(tree, fixups=[p]), base_runner(effect=fake_selftests_make)
                        .on("apply", returncode=0))
    assert a.key != b.key


def test_no_vmlinux_is_a_build_error(tree):
    (Family("linux-bpf-gcc").obj / "vmlinux").unlink()
    with pytest.raises(BuildError) as e:
        build_selftests(sreq(tree), base_runner())
    assert "vmlinux" in str(e.value)


def installed(argv):
    inst = Path(next(a.split("=", 1)[1] for a in argv if a.startswith("INSTALL_PATH=")))
    inst.mkdir(parents=True)
    (inst / "run_kselftest.sh").write_text("#!/bin/sh\n")


def kselftest_runner(head="a" * 40, **make):
    """git and --version as for the bpf selftests, `make headers`, and the install."""
    fr = git_runner(head).on(lambda a: a[-1] == "headers")
    return fr.on("make", **(make or {"effect": installed}))


def make_calls(fr):
    return [c["argv"] for c in fr.calls if "make" in c["argv"] and "-C" in c["argv"]]


def test_kselftest_install_path(tmp_path):
    t = make_tree(tmp_path)
    fr = kselftest_runner()
    res = build_kselftest(KselftestRequest(t, ["size"], tmp_path / "ks", nice=False), fr)
    calls = make_calls(fr)
    assert calls[0][-1] == "headers"                     # the tree's UAPI first
    argv = calls[1]
    assert "TARGETS=size" in argv and "install" in argv
    assert f"O={(tmp_path / 'ks/build').resolve()}" in argv
    assert f"INSTALL_PATH={(tmp_path / 'ks/kselftest_install').resolve()}" in argv
    assert not res.cached and (res.install_dir / "run_kselftest.sh").is_file()
    assert res.install_dir.name == "kselftest_install"   # the runner's default path
    with pytest.raises(SelftestsBuildError):
        build_kselftest(KselftestRequest(t, ["mqueue"], tmp_path / "ks2", nice=False),
                        kselftest_runner(returncode=2,
                                         stdout="size/get_size.c:3:1: error: boom\n"))


def test_kselftest_is_built_once_per_key(tmp_path):
    """The second build of the same tree state and targets is a cache hit without
    make; other targets, another tree state, or use_cache off build again."""
    t = make_tree(tmp_path)

    def build(targets=("landlock",), head="a" * 40, **kw):
        fr = kselftest_runner(head)
        res = build_kselftest(KselftestRequest(t, list(targets), tmp_path / "ks", nice=False,
                                               **kw), fr)
        return res, make_calls(fr)
    first, calls = build()
    assert not first.cached and len(calls) == 2
    again, calls = build()
    assert again.cached and again.key == first.key and calls == []
    assert (again.install_dir / "run_kselftest.sh").is_file()
    for changed in (build(["landlock", "size"]), build(head="b" * 40),
                    build(use_cache=False)):
        res, calls = changed
        assert not res.cached and len(calls) == 2
    assert build(["landlock", "size"])[0].key != first.key != build(head="b" * 40)[0].key


STALE = ("make: *** No rule to make target 'atomics.lskel.h', needed by "
         "'/out/atomics.test.o'.  Stop.\n")


def test_stale_incremental_output_is_rebuilt_from_clean(tree):
    build_selftests(sreq(tree), base_runner(effect=fake_selftests_make))
    runs = []

    def stale_then_ok(argv):
        out = out_dir(argv)
        runs.append(sorted(p.name for p in out.iterdir()))
        if len(runs) > 1:
            fake_selftests_make(argv)

    fr = git_runner("b" * 40)
    fr.on(lambda a: "make" in a and not runs, returncode=2, stdout=STALE, effect=stale_then_ok)
    fr.on(lambda a: "make" in a, effect=stale_then_ok)
    res = build_selftests(sreq(tree), fr)
    assert len(runs) == 2 and "test_progs" in runs[0] and runs[1] == []
    assert (res.artifacts_dir / "bpf" / "test_progs").is_file()
    fam = Family("linux-bpf-gcc")
    assert "atomics.lskel.h" in (fam.root / "selftests-build.incremental.log").read_text()


def test_code_errors_in_an_incremental_build_are_not_retried(tree):
    build_selftests(sreq(tree), base_runner(effect=fake_selftests_make))
    fr = base_runner(make_rc=2, make_out=LOG.read_text(), head="c" * 40)
    with pytest.raises(SelftestsBuildError):
        build_selftests(sreq(tree), fr)
    assert sum("make" in c["argv"] and "-C" in c["argv"] for c in fr.calls) == 1


def records_made_in(tree):
    """A fake make that leaves what the real one does in the output: gcc's .d file
    of a test object and libbpf's .cmd record, both naming `tree` by absolute path,
    and a binary (debug info) that names it too."""
    def make(argv):
        fake_selftests_make(argv)
        out = out_dir(argv)
        (out / "fexit.test.d").write_text(
            f"{out}/fexit.test.o: {tree}/tools/testing/selftests/bpf/prog_tests/fexit.c \\\n"
            f" {tree}/tools/testing/selftests/bpf/test_progs.h\n")
        cmd = out / "tools/build/libbpf/staticobjs/.btf.o.cmd"
        cmd.parent.mkdir(parents=True, exist_ok=True)
        cmd.write_text(f"cmd_{out}/btf.o := gcc -I{tree}/tools/include -c btf.c\n")
        (out / "test_progs").write_bytes(f"ELF {tree}/tools/lib/bpf/btf.c".encode())
        for rec in (out / "fexit.test.d", cmd):
            os.utime(rec, (1_700_000_000, 1_700_000_000))
    return make


def test_an_output_from_another_worktree_of_the_repository_goes_on_incrementally(tmp_path):
    """The .d and .cmd records follow the output to the new worktree (mtimes kept),
    so make rebuilds what differs instead of everything."""
    repo = tmp_path / "repo.git"
    a = as_worktree(bpf_tree(tmp_path), repo)
    b = as_worktree(bpf_sources(tmp_path, "linux-2"), repo)
    build_selftests(sreq(a), base_runner(effect=records_made_in(a)))
    seen = {}

    def make(argv):
        out = out_dir(argv)
        seen["names"] = sorted(p.name for p in out.iterdir())
        seen["d"] = (out / "fexit.test.d").read_text()
        seen["cmd"] = (out / "tools/build/libbpf/staticobjs/.btf.o.cmd").read_text()
        seen["mtime"] = (out / "fexit.test.d").stat().st_mtime
        seen["bin"] = (out / "test_progs").read_bytes()
    res = build_selftests(sreq(b), base_runner(effect=make, head="b" * 40))
    assert not res.cached and "test_progs" in seen["names"]
    assert f"{b}/tools/testing/selftests/bpf/test_progs.h" in seen["d"]
    assert f"{a}/" not in seen["d"] and f"-I{b}/tools/include" in seen["cmd"]
    assert seen["mtime"] == 1_700_000_000
    assert seen["bin"] == f"ELF {a}/tools/lib/bpf/btf.c".encode()   # not a make record
    from kbuild.srcsync import record_tree
    assert record_tree(Family("linux-bpf-gcc").selftests_sources) == str(b)


@pytest.mark.parametrize("other", ["another repository", "not a checkout", "gone"])
def test_an_output_from_elsewhere_starts_afresh(tmp_path, other):
    """Only a worktree of the same repository is rewritten; otherwise (or when the
    old worktree is gone and cannot say) the output is emptied as before."""
    repo = tmp_path / "repo.git"
    a = as_worktree(bpf_tree(tmp_path), repo)
    b = bpf_sources(tmp_path, "linux-2")
    if other == "another repository":
        as_worktree(b, tmp_path / "other.git")
    elif other == "gone":
        as_worktree(b, repo)
    build_selftests(sreq(a), base_runner(effect=records_made_in(a)))
    if other == "gone":
        shutil.rmtree(a)
    seen = []
    build_selftests(sreq(b), base_runner(head="b" * 40, effect=lambda argv: seen.append(
        sorted(p.name for p in out_dir(argv).iterdir()))))
    assert seen == [[]]


def test_the_same_worktree_keeps_its_output_without_rewriting(tree):
    build_selftests(sreq(tree), base_runner(effect=records_made_in(tree)))
    seen = []
    build_selftests(sreq(tree), base_runner(head="b" * 40, effect=lambda argv: seen.append(
        (out_dir(argv) / "fexit.test.d").stat().st_mtime)))
    assert seen == [1_700_000_000]


def test_bpf_objects_including_a_changed_header_are_compiled_again(tree):
    """BPF objects have no dependency file: one whose source includes a header the
    Makefile does not list (directly, or through another header) is removed when
    the header is newer than it, in every flavour dir; the others stay."""
    bpf = tree / "tools/testing/selftests/bpf"
    (bpf / "progs").mkdir()
    (bpf / "bpf_testmod").mkdir()
    (bpf / "progs/iter.c").write_text('#include "vmlinux.h"\n#include "bpf_experimental.h"\n')
    (bpf / "progs/kfunc.c").write_text('# include "../bpf_testmod/bpf_testmod_kfunc.h"\n')
    (bpf / "progs/plain.c").write_text('#include <bpf/bpf_helpers.h>\n#include "bpf_misc.h"\n')
    (bpf / "progs/bpf_misc.h").write_text("#define X 1\n")
    (bpf / "bpf_experimental.h").write_text('#include "bpf_kfuncs.h"\n')
    (bpf / "bpf_kfuncs.h").write_text("extern int f(void);\n")
    (bpf / "bpf_testmod/bpf_testmod_kfunc.h").write_text("extern int g(void);\n")

    def objects(argv):
        out = out_dir(argv)
        for d in (out, out / "no_alu32"):
            d.mkdir(exist_ok=True)
            for name in ("iter", "kfunc", "plain"):
                (d / f"{name}.bpf.o").write_text("bpf")
                os.utime(d / f"{name}.bpf.o", (2_000_000_000, 2_000_000_000))
    build_selftests(sreq(tree), base_runner(effect=objects))
    for h in ("progs/iter.c", "progs/kfunc.c", "progs/plain.c", "progs/bpf_misc.h",
              "bpf_experimental.h", "bpf_testmod/bpf_testmod_kfunc.h"):
        os.utime(bpf / h, (1_000_000_000, 1_000_000_000))
    os.utime(bpf / "bpf_kfuncs.h", (2_100_000_000, 2_100_000_000))    # changed since
    seen = []
    build_selftests(sreq(tree), base_runner(head="b" * 40, effect=lambda argv: seen.append(
        sorted(str(p.relative_to(out_dir(argv))) for p in out_dir(argv).rglob("*.bpf.o")))))
    assert seen == [["kfunc.bpf.o", "no_alu32/kfunc.bpf.o", "no_alu32/plain.bpf.o",
                     "plain.bpf.o"]]


def test_skeleton_headers_in_dep_files_are_named_by_the_output_dir(tree):
    """gcc runs in the output dir with -I. and writes `atomics.lskel.h` without a
    directory; make reads the .d from the source dir and stopped on 'No rule to
    make target', so every incremental build restarted from nothing. The next
    build sees the name with the output dir as the .d's target spells it (a real
    6.12 line: `OUTPUT//atomics.test.o`), mtime kept; a name not in the output
    and a header with a directory are left alone."""
    def first(argv):
        fake_selftests_make(argv)
        out = out_dir(argv)
        (out / "atomics.lskel.h").write_text("skel")
        d = out / "atomics.test.d"
        d.write_text(f"{out}//atomics.test.o: \\\n {tree}/prog_tests/atomics.c \\\n"
                     f" atomics.lskel.h \\\n missing.skel.h \\\n"
                     f" {out}//tools/include/bpf/skel_internal.h\n")
        os.utime(d, (1_700_000_000, 1_700_000_000))
    build_selftests(sreq(tree), base_runner(effect=first))
    seen = {}

    def second(argv):
        d = out_dir(argv) / "atomics.test.d"
        seen["d"], seen["mtime"] = d.read_text(), d.stat().st_mtime
    build_selftests(sreq(tree), base_runner(effect=second, head="b" * 40))
    out = Family("linux-bpf-gcc").root / "selftests-bpf"
    assert f" {out}//atomics.lskel.h \\" in seen["d"]
    assert " missing.skel.h \\" in seen["d"]
    assert f" {out}//tools/include/bpf/skel_internal.h" in seen["d"]
    assert seen["mtime"] == 1_700_000_000


def test_the_test_lists_are_made_again_for_an_incremental_build(tmp_path):
    """An output from another worktree has a test_progs.o compiled from that tree's
    prog_tests/tests.h; the new tree's older list would leave it (a test of the
    other tree's, with no object linked): the lists go before make runs, and only
    for an incremental build."""
    repo = tmp_path / "repo.git"
    a = as_worktree(bpf_tree(tmp_path), repo)
    b = as_worktree(bpf_sources(tmp_path, "linux-2"), repo)
    for t in (a, b):
        for rel in ("prog_tests/tests.h", "map_tests/tests.h"):
            (t / "tools/testing/selftests/bpf" / rel).parent.mkdir(exist_ok=True)
            (t / "tools/testing/selftests/bpf" / rel).write_text("DEFINE_TEST(x)\n")
    seen = []

    def lists(argv):
        bpf = Path(argv[argv.index("-C") + 1])
        seen.append([(bpf / r).exists() for r in ("prog_tests/tests.h", "map_tests/tests.h")])
        records_made_in(a)(argv)
    build_selftests(sreq(a), base_runner(effect=lists))                  # fresh: kept
    build_selftests(sreq(b), base_runner(effect=lists, head="b" * 40))   # incremental
    assert seen == [[True, True], [False, False]]
