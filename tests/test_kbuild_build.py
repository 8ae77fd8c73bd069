"""build_kernel with a FakeRunner: cache hits, the family build dir, killed
builds, failures, missing tools, full disk, warnings against a base."""
import errno
import json
import os
import shutil

import pytest

from common.errors import BuildError, InfraError, StageTimeout
from kbuild import BuildRequest, build_kernel
from kbuild import cache as kcache
from kbuild.objdir import IN_TREE, MARK, Family, checkout
from kbuild.progress_watch import LogWatcher, count_objects

from test_kbuild_fakes import CONFIG, fake_kernel_make, make_calls, make_tree, obj_of, runner


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path)


@pytest.fixture
def config(tmp_path):
    p = tmp_path / "final.config"
    p.write_text(CONFIG)
    return p


def req(tree, config, **kw):
    kw.setdefault("config_family", "small")
    kw.setdefault("jobs", 2)
    return BuildRequest(tree=tree, config=config, **kw)


def test_first_build_runs_make_and_stores_artifacts(tree, config, tmp_path, cache_home):
    fr = runner()
    res = build_kernel(req(tree, config, results_dir=tmp_path / "res"), fr)
    (call,) = make_calls(fr)
    argv, env = call["argv"], call["env"]
    assert argv[:3] == ["nice", "-n", "10"] and "-j2" in argv and "CC=ccache gcc" in argv
    assert obj_of(argv) == tree / IN_TREE
    assert env["CCACHE_BASEDIR"] == str(tree) and env["CCACHE_DIR"] == str(cache_home / "ccache")
    assert env["KBUILD_BUILD_TIMESTAMP"] == "2025-01-01"
    assert not res.cached and res.bzimage.read_bytes().startswith(b"bzImage")
    assert res.artifacts_dir == cache_home / "kbuild/artifacts" / res.key
    assert (res.artifacts_dir / "complete").is_file()
    assert {"bzImage", "vmlinux", "System.map", ".config", "build.log", "warnings.json"} <= \
        {p.name for p in res.artifacts_dir.iterdir()}
    assert [w.file for w in res.warnings] == ["fs/namei.c"]
    assert res.build_dir == cache_home / "kbuild/obj/linux-small-gcc/build"
    assert (res.build_dir / "built.o").is_file() and not (tree / IN_TREE).exists()
    assert (tmp_path / "res/warnings.txt").is_file() and (tmp_path / "res/build.log").is_file()


def test_second_call_is_a_cache_hit_without_make(tree, config):
    first = build_kernel(req(tree, config), runner())
    fr = runner()
    again = build_kernel(req(tree, config), fr)
    assert again.cached and again.key == first.key and make_calls(fr) == []
    assert again.artifacts_dir == first.artifacts_dir


def test_another_worktree_same_commit_hits_and_family_dir_is_shared(tree, config, tmp_path):
    first = build_kernel(req(tree, config), runner())
    other = make_tree(tmp_path, "linux-2")
    hit = build_kernel(req(other, config, tree_name="linux"), runner())
    assert hit.cached and hit.key == first.key
    fr = runner(head="c" * 40)
    rebuilt = build_kernel(req(other, config, tree_name="linux"), fr)
    assert not rebuilt.cached and obj_of(make_calls(fr)[0]["argv"]) == other / IN_TREE
    assert rebuilt.build_dir == first.build_dir


def test_timed_out_build_leaves_no_artifacts_and_dir_goes_home(tree, config):
    fr = runner()
    fr.rules.insert(0, (lambda a: "make" in a and "--version" not in a, 0, "", "", True, None))
    with pytest.raises(StageTimeout):
        build_kernel(req(tree, config), fr)
    assert not (tree / IN_TREE).exists()
    assert not list(kcache.artifacts_root().glob("*/complete"))
    assert Family("linux-small-gcc").obj.is_dir()


def test_killed_build_dir_left_in_tree_is_reclaimed_and_continued(tree, config):
    fam = Family("linux-small-gcc")
    fam.obj.mkdir(parents=True)
    (fam.obj / "half-built.o").write_text("from the killed run\n")
    (fam.obj / "include").mkdir()
    (fam.obj / "include/autoconf.h").write_text("from the killed run\n")
    (fam.obj / MARK).write_text(fam.name + "\n")
    os.rename(fam.obj, tree / IN_TREE)                   # as a kill -9 mid-build leaves it
    fam.state.write_text(json.dumps({"at": str(tree / IN_TREE)}))
    res = build_kernel(req(tree, config), runner())
    assert (res.build_dir / "include/autoconf.h").is_file() and (res.build_dir / "built.o").is_file()
    assert not (res.build_dir / "half-built.o").exists()    # not in the warning record


def test_half_written_artifact_dir_is_never_reused(tree, config):
    first = build_kernel(req(tree, config), runner())
    (first.artifacts_dir / "complete").unlink()          # as if killed before the marker
    (first.artifacts_dir / "bzImage").write_bytes(b"trunc")
    fr = runner()
    again = build_kernel(req(tree, config), fr)
    assert not again.cached and len(make_calls(fr)) == 1
    assert again.bzimage.read_bytes().startswith(b"bzImage")
    assert (again.artifacts_dir / "complete").is_file()


def test_failed_build_names_first_errors(tree, config, tmp_path):
    out = ("  CC      fs/namei.o\n../fs/namei.c:12:5: error: expected ';' before '}' token\n"
           "../fs/namei.c:20:1: error: second\n"
           "make[3]: *** [../scripts/Makefile.build:229: fs/namei.o] Error 1\n")
    with pytest.raises(BuildError) as e:
        build_kernel(req(tree, config, results_dir=tmp_path / "res"),
                     runner(make_rc=2, make_out=out, make_effect=None))
    assert e.value.exit_code == 5
    assert "fs/namei.c:12: error: expected ';' before '}' token" in str(e.value)
    assert "second" not in str(e.value)
    assert (tmp_path / "res/build.log").is_file()
    assert not list(kcache.artifacts_root().glob("*/complete"))


def test_full_disk_in_build_log_is_infra_error(tree, config):
    out = "  CC      fs/namei.o\nfs/namei.o: No space left on device\n"
    with pytest.raises(InfraError) as e:
        build_kernel(req(tree, config), runner(make_rc=2, make_out=out, make_effect=None))
    assert "disk full" in str(e.value)


def test_full_disk_while_storing_is_infra_error(tree, config, monkeypatch):
    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(shutil, "copy2", no_space)
    with pytest.raises(InfraError) as e:
        build_kernel(req(tree, config), runner())
    assert "disk full" in str(e.value)
    assert not list(kcache.artifacts_root().iterdir())


@pytest.mark.parametrize("tc,tool,pkg", [("gcc", "gcc", "gcc"), ("llvm-19", "ld.lld-19", "lld-19"),
                                         ("gcc", "bison", "bison"), ("llvm-19", "clang-19",
                                                                      "clang-19")])
def test_missing_tool_names_debian_package(tree, config, tc, tool, pkg):
    with pytest.raises(InfraError) as e:
        build_kernel(req(tree, config, toolchain=tc), runner(missing=[tool]))
    assert f"missing build tool: {tool}" in str(e.value)
    assert f"apt-get install {pkg}" in str(e.value)


def test_sparse_needs_sparse_and_llvm_flags(tree, config):
    fr = runner()
    build_kernel(req(tree, config, toolchain="llvm-19", w1=True, sparse=True), fr)
    argv = make_calls(fr)[0]["argv"]
    assert {"LLVM=-19", "W=1", "C=1", "CC=ccache clang-19", "ARCH=x86_64"} <= set(argv)
    assert any(c["argv"] == ["sparse", "--version"] for c in fr.calls)


def test_targets_build_only_those_and_keep_no_image(tree, config):
    fr = runner()
    res = build_kernel(req(tree, config, targets=["fs/namei.o"]), fr)
    assert make_calls(fr)[0]["argv"][-1] == "fs/namei.o" and res.bzimage is None


def test_new_warnings_against_base(tree, config, tmp_path):
    base = tmp_path / "base-warnings.json"
    base.write_text("[]")
    res = build_kernel(req(tree, config, base_warnings=base, results_dir=tmp_path / "r"),
                       runner())
    assert [w.message for w in res.new_warnings] == ["variable 'len' set but not used"]
    assert ">> fs/namei.c:2718:13: warning" in (tmp_path / "r/warnings.txt").read_text()
    same = build_kernel(req(tree, config, base_warnings=res.artifacts_dir), runner())
    assert same.cached and same.new_warnings == []


def test_unclean_tree_is_refused(tree, config):
    from common.errors import ConfigError
    (tree / ".config").write_text(CONFIG)
    with pytest.raises(ConfigError):
        build_kernel(req(tree, config), runner())


def test_checkout_frees_slot_held_by_another_family(tree):
    a, b = Family("fam-a"), Family("fam-b")
    with checkout(tree, a) as obj:
        (obj / "a.o").write_text("a")
    with checkout(tree, a) as obj:                        # simulate a kill: leave it there
        pass
    a.obj.rename(tree / IN_TREE)
    a.state.write_text(json.dumps({"at": str(tree / IN_TREE)}))
    with checkout(tree, b) as obj:
        assert not (obj / "a.o").exists()
    assert (a.obj / "a.o").is_file()


def test_progress_counts_objects_and_eta(tmp_path):
    assert count_objects(b"  CC      a.o\n  CC [M]  b.o\n  LD      c\n  CC      d.o\n") == 3
    log = tmp_path / "l.log"
    log.write_text("  CC      a.o\n  CC      b\n")
    w = LogWatcher(log, None, "build", expected=10, per_object=3.0)
    assert w.poll() == 2 and w.line() == "2/10 objects, ETA 24.0s"
    with open(log, "a") as f:
        f.write("  CC      c.o\n  CC   ")
    assert w.poll() == 3
    assert LogWatcher(log, None, "build", None, None).line() == "0 objects"


def test_stats_give_the_next_build_an_expected_count(tree, config):
    out = "".join(f"  CC      f{i}.o\n" for i in range(60))
    build_kernel(req(tree, config), runner(make_out=out))
    stats = Family("linux-small-gcc").load_stats()
    assert stats["objects"] == 60 and stats["per_object"] >= 0


def test_named_object_targets_are_removed_so_make_recompiles_them(tmp_path):
    """An up-to-date fs/namei.o prints no warnings; a warning bisect over `--target
    fs/namei.o` steps would then call a step with the warning good."""
    from kbuild.build import remake_objects
    (tmp_path / "outside.o").write_text("not in the build dir")
    obj = tmp_path / "obj"
    (obj / "fs").mkdir(parents=True)
    (obj / "fs/namei.o").write_text("old object")
    (obj / "fs/inode.o").write_text("not named")
    gone = remake_objects(obj, ["fs/namei.o", "fs/", "bzImage", "fs/missing.o", "../outside.o"])
    assert gone == [obj / "fs/namei.o"]
    assert not (obj / "fs/namei.o").exists()
    assert (obj / "fs/inode.o").exists() and (obj / "fs").is_dir()
    assert (tmp_path / "outside.o").exists()


def test_a_second_target_build_recompiles_the_named_object(tree, config):
    """Through build_kernel: make must not find the object of an earlier build."""
    seen = []

    def make(argv):
        o = obj_of(argv) / "fs/namei.o"
        seen.append(o.exists())
        o.parent.mkdir(parents=True, exist_ok=True)
        o.write_text("object")
    build_kernel(req(tree, config, targets=["fs/namei.o"]), runner(make_effect=make))
    build_kernel(req(tree, config, targets=["fs/namei.o"], w1=True),
                 runner(make_effect=make))
    assert seen == [False, False]


WARN_A = "../a.c:3:7: warning: unused variable 'x' [-Wunused-variable]\n"


def test_the_record_keeps_warnings_of_objects_a_later_build_did_not_recompile(
        tree, config, tmp_path):
    """An incremental build prints only what it recompiles; the build dir's warning
    record still knows a.o's warning, until a.o is compiled again without it."""
    first = build_kernel(req(tree, config), runner(
        head="1" * 40, make_out="  CC      a.o\n" + WARN_A + "  CC      c.o\n"))
    assert [w.file for w in first.warnings] == ["a.c"]
    second = build_kernel(req(tree, config, results_dir=tmp_path / "job/build"), runner(
        head="2" * 40, make_out="  CC      b.o\n"))
    assert [(w.file, w.function, w.message) for w in second.warnings] == [
        ("a.c", None, "unused variable 'x'")]
    written = json.loads((tmp_path / "job/build/warnings.json").read_text())
    assert [w["file"] for w in written["warnings"]] == ["a.c"]
    assert "a.c:3:7: warning: unused variable 'x'" in (tmp_path / "job/build/warnings.txt").read_text()
    third = build_kernel(req(tree, config), runner(head="3" * 40, make_out="  CC      a.o\n"))
    assert third.warnings == []


def test_each_set_of_make_flags_has_its_own_record(tree, config):
    """A plain build does not list a W=1 warning, and an object the plain build made
    is compiled again by the next W=1 build, so its W=1 warnings are printed again."""
    w1 = build_kernel(req(tree, config, w1=True), runner(head="1" * 40,
                                                          make_out="  CC      a.o\n" + WARN_A))
    assert len(w1.warnings) == 1
    plain = build_kernel(req(tree, config), runner(head="1" * 40, make_out="  CC      a.o\n"))
    assert plain.warnings == []
    before = []

    def make(argv):
        before.append((obj_of(argv) / "a.o").exists())
        fake_kernel_make(argv)
    again = build_kernel(req(tree, config, w1=True), runner(
        head="2" * 40, make_out="  CC      a.o\n" + WARN_A, make_effect=make))
    assert before == [False] and len(again.warnings) == 1


def test_build_cli_accepts_a_jobs_warnings_file_as_base(tree, config, tmp_path, monkeypatch,
                                                       capsys):
    """`harness.py build --base-warnings` takes what a job wrote (the job dir, its
    build/ dir, or build/warnings.json: a dict, not a list)."""
    import harness
    import kbuild.cli
    base_out = "  CC      fs/namei.o\n  CC      a.o\n" + WARN_A
    fakes = iter([runner(head="1" * 40, make_out=base_out), runner(head="2" * 40)] +
                 [runner(head="2" * 40)] * 2)
    monkeypatch.setattr(kbuild.cli, "Runner", lambda verbose=False: next(fakes))
    argv = ["build", "--tree", str(tree), "--config", str(config), "--family", "small"]
    assert harness.main(argv + ["--results", str(tmp_path / "job/build")]) == 0
    for base in (tmp_path / "job", tmp_path / "job/build", tmp_path / "job/build/warnings.json"):
        capsys.readouterr()
        assert harness.main(argv + ["--base-warnings", str(base)]) == 0
        out = capsys.readouterr().out
        assert "warnings: 2 (1 new)" in out
        assert (">> fs/namei.c:2718:13: warning: variable 'len' set but not used "
                "[-Wunused-but-set-variable]") in out


def test_a_whole_build_remakes_the_objects_the_record_does_not_know(tree, config):
    """Objects made before the record existed would be up to date and print nothing:
    a whole build removes them so make compiles them again; a build of named targets
    would not remake them and leaves them; tools/ has its own build system."""
    fam = Family("linux-small-gcc")
    for o in ("fs/inode.o", "tools/objtool/check.o"):
        (fam.obj / o).parent.mkdir(parents=True, exist_ok=True)
        (fam.obj / o).write_text("made before the record\n")
    build_kernel(req(tree, config, targets=["fs/namei.o"]), runner(make_out="  CC      fs/namei.o\n"))
    assert (fam.obj / "fs/inode.o").is_file()
    build_kernel(req(tree, config), runner())
    assert not (fam.obj / "fs/inode.o").exists() and (fam.obj / "tools/objtool/check.o").is_file()


def test_tools_commands_follow_the_build_dir_to_another_worktree(tree, config, tmp_path):
    """objtool's commands name the worktree by absolute path: moved to another
    worktree unchanged, they would make objtool and then every object rebuild."""
    first = build_kernel(req(tree, config), runner())
    cmd = first.build_dir / "tools/objtool/.check.o.cmd"
    cmd.parent.mkdir(parents=True)
    cmd.write_text(f"cmd_{tree}/{IN_TREE}/tools/objtool/check.o := gcc -MD {tree}/tools/x.c\n")
    keep = first.build_dir / "tools/objtool/check.o"
    keep.write_text("an object, not a record\n")
    other = make_tree(tmp_path, "linux-2")
    build_kernel(req(other, config, tree_name="linux"), runner(head="c" * 40))
    text = cmd.read_text()
    assert str(other.resolve()) in text and f"{tree}/" not in text
    assert keep.read_text() == "an object, not a record\n"


def test_the_build_records_the_objects_it_predicted_and_compiled(tree, config, tmp_path):
    """The bench's second-series figure compares a build's time with what the
    harness predicted; the build result (and a later cache hit of it) carries
    both counts. A first build has no record to predict from (None: the full
    count); make printed 3 CC lines."""
    first = build_kernel(req(tree, config), runner())
    assert first.objects == {"predicted": None, "compiled": 3}
    hit = build_kernel(req(tree, config), runner())
    assert hit.cached and hit.objects == first.objects
