"""`cache gc` counts and evicts worktrees and family build dirs, not only finished
builds (issue 25): least recently used first, never one a running job holds (a
real lock held by another process), worktrees through `git worktree remove` so the
tree's git metadata stays right; imported trees only with --trees. An apply that
has to wait for another job says who holds the worktree."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness
from kbuild import cache as kcache
from patches import worktree as wtmod
from patches.apply import ApplyRequest, apply_series
from patches.treeimport import tree_info, tree_repo
from pipeline.context import StageReport
from test_patches_apply import demo  # noqa: F401
from test_patches_common import cache, git, runner  # noqa: F401
from lock_holders import end, holder  # noqa: F401 - fixture

MB = 1 << 20


@pytest.fixture(autouse=True)
def no_env_limit(monkeypatch):
    monkeypatch.delenv(kcache.MAX_SIZE_VAR, raising=False)


def use_code(wt: Path) -> str:
    """A job that uses worktree `wt` (its use lock, shared)."""
    return f"from pathlib import Path\nfrom patches import worktree as w\n" \
           f"u = w.Use(Path({str(wt)!r})); u.shared()"


def age(wt: Path, hours: float) -> None:
    """The worktree was last used `hours` ago."""
    t = time.time() - hours * 3600
    for p in (wt.parent / f".{wt.name}.use", wtmod.state_path(wt)):
        os.utime(p, (t, t))


def worktrees_of(repo: Path) -> list[str]:
    out = git(repo, "worktree", "list", "--porcelain")
    return sorted(ln.split(" ", 1)[1] for ln in out.splitlines()
                  if ln.startswith("worktree ") and ln.split(" ", 1)[1] != str(repo))


def applied(*reqs: ApplyRequest) -> list[Path]:
    from common.proc import Runner
    return [apply_series(r, Runner()).worktree for r in reqs]


def gc(capsys, *args: str) -> str:
    code = harness.main(["cache", "gc", *args])
    out = capsys.readouterr().out
    assert code == 0, out
    return out


def test_gc_removes_least_recently_used_worktrees_through_git_never_one_in_use(
        demo, holder, capsys):  # noqa: F811
    full, upto, v2 = applied(ApplyRequest("demo", "v1"), ApplyRequest("demo", "v1", upto=1),
                             ApplyRequest("demo", "v2"))
    holder(use_code(full))                     # a long job still uses the oldest:
    age(full, 30)                              # it took it 30 h ago
    age(v2, 20)
    age(upto, 10)
    repo = tree_repo("fake")
    assert worktrees_of(repo) == sorted(str(w) for w in (full, upto, v2))
    sizes = {w: kcache.du(w) for w in (full, upto, v2)}
    total = sum(sizes.values())
    out = gc(capsys, "--max-size", "0", "--dry-run")
    assert "would go: worktree fake/demo/v2 " in out and "would go: worktree fake/demo/v1.up" in out
    assert "kept:    worktree fake/demo/v1 " in out and "(limit 0B, 2 would go)" in out
    assert all(w.is_dir() for w in (full, upto, v2))
    out = gc(capsys, "--max-size", str(total - sizes[v2]))
    assert "removed: worktree fake/demo/v2 " in out and "fake/demo/v1.upto-1" not in out
    assert f"kept:    worktree fake/demo/v1 {kcache.human(sizes[full])} (in use" in out
    assert f"{kcache.human(total)} -> {kcache.human(total - sizes[v2])}" in out
    assert "not counted: imported trees" in out and "kept unless --trees" in out
    assert not v2.exists() and not wtmod.state_path(v2).exists()
    assert worktrees_of(repo) == sorted(str(w) for w in (full, upto))
    assert git(repo, "worktree", "prune", "--dry-run", "-v") == ""
    out = gc(capsys, "--max-size", "0")
    assert "removed: worktree fake/demo/v1.upto-1" in out and full.is_dir()
    assert worktrees_of(repo) == [str(full)]
    assert harness.main(["apply", "demo@v2"]) == 0    # made again from scratch
    assert "(reused)" not in capsys.readouterr().out and v2.is_dir()


def family(name: str, mb: int, hours: float) -> Path:
    """A family's build dir as a finished build leaves it, last used `hours` ago."""
    d = Path(os.environ["HARNESS_CACHE"]) / "kbuild" / "obj" / name
    (d / "build").mkdir(parents=True)
    (d / "build" / "vmlinux").write_bytes(os.urandom(mb * MB))
    (d / "sources.json").write_text("{}\n")
    (d / "stats.json").write_text('{"objects": 5}\n')
    (d / "state.json").write_text('{"at": null}\n')
    t = time.time() - hours * 3600
    for p in d.iterdir():
        os.utime(p, (t, t))
    return d


def test_gc_removes_family_build_dirs_no_build_or_job_holds(tmp_path, cache, holder,
                                                           capsys):  # noqa: F811
    idle = family("t-idle-gcc", 2, 30)
    building = family("t-building-gcc", 2, 40)
    tested = family("t-tested-gcc", 2, 50)
    src = tmp_path / "src"
    (src / "a").mkdir(parents=True)
    (src / "b").mkdir()
    # a build running in one family; a job whose build ended but which still tests
    code = "from pathlib import Path\nfrom kbuild import objdir\n" \
           "c = objdir.checkout(Path({!r}), objdir.Family({!r}))\n"
    holder(code.format(str(src / "a"), building.name) + "c.__enter__()")
    holder(code.format(str(src / "b"), tested.name) +
           "c.__enter__(); c.__exit__(None, None, None)")
    out = gc(capsys, "--max-size", "0")
    assert "removed: build dir t-idle-gcc 2.0M" in out
    assert "kept:    build dir t-tested-gcc 2.0M (in use by a running job)" in out
    assert "kept:    build dir t-building-gcc" in out
    assert sorted(p.name for p in idle.iterdir()) == [".use", "lock", "stats.json"]
    assert (tested / "build" / "vmlinux").is_file()
    assert (src / "a" / ".kharness-build" / "vmlinux").is_file()   # the running build's


def test_imported_trees_stay_unless_asked_and_go_only_with_no_worktree_in_use(
        demo, holder, capsys):  # noqa: F811
    full, v2 = applied(ApplyRequest("demo", "v1"), ApplyRequest("demo", "v2"))
    job = holder(use_code(full))
    out = gc(capsys, "--max-size", "0")
    assert tree_info("fake") is not None and ": tree fake" not in out
    assert "not counted: imported trees" in out
    out = gc(capsys, "--max-size", "0", "--trees")
    assert "kept:    tree fake" in out and tree_info("fake") is not None
    assert "imported trees" in out.splitlines()[-1] and full.is_dir() and not v2.exists()
    end(job)
    out = gc(capsys, "--max-size", "0", "--trees")
    assert "removed: tree fake" in out and "removed: worktree fake/demo/v1" in out
    assert tree_info("fake") is None and not full.exists()


@pytest.mark.parametrize("lock,doing", [("use", "still uses the worktree"),
                                        ("lock", "is applying or removing the worktree")])
def test_an_apply_that_waits_says_which_process_holds_the_worktree(
        demo, holder, capsys, lock, doing):  # noqa: F811
    _, d = demo
    (full,) = applied(ApplyRequest("demo", "v1"))
    p = sorted((d / "v1").glob("0002-*.patch"))[0]       # another job wants other content
    p.write_text(p.read_text().replace("add a path iterator", "add the path iterator"))
    f = full.parent / f".{full.name}.{lock}"
    job = holder(f"import fcntl, threading, time\nf = open({str(f)!r}, 'a')\n"
                 f"fcntl.flock(f, fcntl.{'LOCK_SH' if lock == 'use' else 'LOCK_EX'})\n"
                 "threading.Timer(2.0, lambda: f.close()).start()")
    capsys.readouterr()
    assert harness.main(["apply", "demo@v1"]) == 0
    err = capsys.readouterr().err
    waits = [ln for ln in err.splitlines() if ln.startswith("apply: waiting")]
    assert len(waits) == 1, err
    assert f"pid {job.pid} (python" in waits[0] and f"{doing} {full}" in waits[0]
    assert git(full, "log", "-1", "--format=%s").strip() == "bpf: add the path iterator"


def test_a_job_evicts_old_worktrees_after_its_build(demo, monkeypatch, tmp_path,
                                                     capsys):  # noqa: F811
    import pipeline.stages
    (old,) = applied(ApplyRequest("demo", "v2"))
    age(old, 48)
    src = tmp_path / "bzImage"
    src.write_bytes(b"k" * 4096)
    seen = []

    def build(ctx):
        ctx.build = SimpleNamespace(cached=False, key="b" * 64,
                                    artifacts_dir=kcache.store("b" * 64, {"bzImage": src}))
        ctx.selftests = None
        return StageReport("built")

    def boot(ctx):
        seen.append(ctx.worktree.is_dir())
        return StageReport()
    monkeypatch.setattr(pipeline.stages, "STAGES", [
        ("apply", pipeline.stages.stage_apply), ("build", build), ("boot", boot)])
    code = harness.main(["run", "demo@v1", "--tree", "fake", "--profile", "small",
                         "--results", str(tmp_path / "r"), "--cache-max-size", "0"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "[cache] 1 old worktree(s) evicted: " in err and not old.exists()
    wt = wtmod.worktree_path("fake", "demo", "v1")
    assert seen == [True] and wt.is_dir()          # the job's own stays: it held it
    assert worktrees_of(tree_repo("fake")) == [str(wt)]


def test_a_repro_suite_file_is_never_left_half_written(tmp_path, monkeypatch):
    """The disk fills half-way through writing a runtime repro's suite file: no half
    file stays under its content-named path (it would be reused as it is)."""
    import io

    from common.errors import InfraError
    from repro.runtime import write_suite
    real_open = io.open

    class HalfFull:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            self.f.write(data[:len(data) // 2])
            self.f.flush()
            raise OSError(28, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    def full_open(file, mode="r", *a, **k):
        f = real_open(file, mode, *a, **k)
        return HalfFull(f) if "w" in mode else f
    doc = {"name": "repro-x", "runner": "kselftest", "tests": ["a", "b"] * 50}
    monkeypatch.setattr(io, "open", full_open)
    with pytest.raises((InfraError, OSError)):
        write_suite(doc, tmp_path)
    monkeypatch.setattr(io, "open", real_open)
    assert not list((tmp_path / "repro-suites").glob("*.yaml"))
    path = write_suite(doc, tmp_path)
    assert json.loads(path.read_text()) == doc


def test_gc_removes_a_worktree_of_a_users_checkout_through_its_git(demo, tmp_path,
                                                                  capsys):  # noqa: F811
    """`--tree CHECKOUT`: the series is applied in a git worktree of the user's
    repository; gc removes that worktree so the user's `git worktree list` stays right."""
    repo, _ = demo
    from common.proc import Runner
    res = apply_series(ApplyRequest("demo", "v1", onto=repo), Runner())
    assert worktrees_of(repo) == [str(res.worktree)]
    out = gc(capsys, "--max-size", "0")
    assert f"removed: worktree {res.worktree.parent.parent.name}/demo/v1 " in out
    assert worktrees_of(repo) == [] and not res.worktree.exists()
    assert git(repo, "worktree", "prune", "--dry-run", "-v") == ""
    assert git(repo, "status", "--porcelain") == "" and (repo / ".git").is_dir()
