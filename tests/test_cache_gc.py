"""The build cache stays within a size (issue 25): `harness.py cache gc` and the
eviction after a job's build remove the least recently used finished builds,
never one a running job uses (its lock held in another process); `store` never
deletes a build another job uses; a full disk while storing a build or writing
results is an infrastructure error (exit 7) that loses no earlier result."""
from __future__ import annotations

import errno
import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness
from kbuild import cache as kcache
from pipeline.context import StageReport
from lock_holders import end, holder  # noqa: F401 - fixture

MB = 1 << 20


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv(kcache.MAX_SIZE_VAR, raising=False)
    return tmp_path


def key(i: int) -> str:
    return f"{i:x}" * 64 if i < 16 else f"{i:064x}"


def stored(tmp_path: Path, i: int, mb: int, age_h: float) -> Path:
    """A finished build of `mb` MB, last used `age_h` hours ago (pins released)."""
    src = tmp_path / f"src{i}"
    src.mkdir(exist_ok=True)
    (src / "bzImage").write_bytes(os.urandom(mb * MB))
    with kcache.job_scope():
        d = kcache.store(key(i), {"bzImage": src / "bzImage"})
    t = time.time() - age_h * 3600
    os.utime(d / kcache.COMPLETE, (t, t))
    return d


@pytest.fixture
def in_use(holder):  # noqa: F811
    """Another process (a running job) that uses build `i` until the test ends."""
    return lambda i: holder("from kbuild import cache\n"
                            f"assert cache.lookup({key(i)!r})")


def test_cache_gc_evicts_least_recently_used_but_never_one_in_use(tmp_path, in_use, capsys):
    oldest = stored(tmp_path, 1, 2, age_h=50)
    old = stored(tmp_path, 2, 2, age_h=40)
    mid = stored(tmp_path, 3, 2, age_h=30)
    new = stored(tmp_path, 4, 2, age_h=1)
    in_use(1)                                   # a long job still uses the oldest
    t = time.time() - 50 * 3600                 # (its lookup, 50 h ago, marked the use)
    os.utime(oldest / kcache.COMPLETE, (t, t))
    (kcache.artifacts_root() / key(5)).mkdir()  # a dir a killed store left, unfinished
    code = harness.main(["cache", "gc", "--max-size", "5M"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert oldest.is_dir() and new.is_dir() and not old.exists() and not mid.exists()
    assert not (kcache.artifacts_root() / key(5)).exists()
    assert f"removed: {key(2)[:12]} 2.0M" in out and f"removed: {key(3)[:12]}" in out
    assert f"kept:    {key(1)[:12]} 2.0M (in use by a running job)" in out
    assert "8.0M -> 4.0M (limit 5.0M, 3 removed)" in out
    assert out.index(key(5)[:12]) < out.index(key(2)[:12]) < out.index(key(3)[:12])


def test_cache_gc_default_limit_and_env(tmp_path, monkeypatch, capsys):
    stored(tmp_path, 1, 1, age_h=2)
    assert harness.main(["cache", "gc"]) == 0
    assert "limit 20G, 0 removed" in capsys.readouterr().out
    monkeypatch.setenv(kcache.MAX_SIZE_VAR, "0")
    assert harness.main(["cache", "gc"]) == 0
    assert "1.0M -> 0B (limit 0B, 1 removed)" in capsys.readouterr().out
    assert harness.main(["cache", "gc", "--max-size", "lots"]) == 2
    assert "'lots' is not a size" in capsys.readouterr().err


def test_a_lookup_marks_the_last_use(tmp_path):
    d = stored(tmp_path, 1, 1, age_h=100)
    with kcache.job_scope():
        assert kcache.lookup(key(1)) == d
    assert time.time() - (d / kcache.COMPLETE).stat().st_mtime < 60


def test_store_never_deletes_a_build_another_job_uses(tmp_path, in_use):
    d = stored(tmp_path, 1, 1, age_h=1)
    before = (d / "bzImage").read_bytes()
    job = in_use(1)
    (tmp_path / "again").write_bytes(b"a forced rebuild of the same key")
    with kcache.job_scope():
        assert kcache.store(key(1), {"bzImage": tmp_path / "again"}) == d
    assert (d / "bzImage").read_bytes() == before
    assert not list(kcache.artifacts_root().glob(".*.tmp-*"))
    end(job)
    with kcache.job_scope():                    # no one else uses it: replaced
        kcache.store(key(1), {"bzImage": tmp_path / "again"})
    assert (d / "bzImage").read_bytes() == b"a forced rebuild of the same key"


def fake_build(i: int, src: Path):
    def stage(ctx):
        ctx.build = SimpleNamespace(cached=False, key=key(i),
                                    artifacts_dir=kcache.store(key(i), {"bzImage": src}))
        ctx.selftests = None
        return StageReport("built")
    return stage


def run_job(monkeypatch, stages, *extra) -> int:
    import pipeline.stages
    monkeypatch.setattr(pipeline.stages, "STAGES", stages)
    return harness.main(["run", "--base-only", "--profile", "small", *extra])


def test_a_job_keeps_the_cache_within_its_size(tmp_path, monkeypatch, in_use, capsys):
    old = stored(tmp_path, 1, 2, age_h=10)
    used = stored(tmp_path, 2, 2, age_h=20)
    in_use(2)
    src = tmp_path / "new"
    src.write_bytes(os.urandom(2 * MB))
    seen = []

    def boot(ctx):            # the job's own new build is in use while it boots
        seen.append(os.path.exists(ctx.build.artifacts_dir / "bzImage"))
        return StageReport()
    code = run_job(monkeypatch, [("apply", lambda ctx: StageReport()),
                                 ("build", fake_build(3, src)), ("boot", boot)],
                   "--cache-max-size", "3M")
    err = capsys.readouterr().err
    assert code == 0, err
    assert seen == [True] and (kcache.artifacts_root() / key(3) / "bzImage").is_file()
    assert not old.exists() and used.is_dir()
    assert "[cache] 1 old build(s) evicted: 6.0M -> 4.0M (limit 3.0M)" in err


def test_a_bad_cache_size_is_refused_before_the_job(monkeypatch, capsys):
    code = run_job(monkeypatch, [("apply", lambda ctx: pytest.fail("ran"))],
                   "--cache-max-size", "20 gigs")
    assert code == 2 and "'20 gigs' is not a size" in capsys.readouterr().err


def enospc(*a, **k):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_disk_full_while_storing_a_build_is_exit_7_and_keeps_earlier_builds(
        tmp_path, monkeypatch, capsys):
    earlier = stored(tmp_path, 1, 1, age_h=1)
    src = tmp_path / "new"
    src.write_bytes(b"kernel")
    monkeypatch.setattr("shutil.copy2", enospc)
    code = run_job(monkeypatch, [("apply", lambda ctx: StageReport()),
                                 ("build", fake_build(2, src))])
    err = capsys.readouterr().err
    assert code == 7, err
    assert "disk full" in err
    assert (earlier / "bzImage").stat().st_size == MB and kcache.lookup(key(2)) is None
    assert not list(kcache.artifacts_root().glob(".*.tmp-*"))


@pytest.mark.parametrize("jobs", [1, 2])
def test_disk_full_while_writing_results_is_exit_7_and_keeps_the_earlier_file(
        tmp_path, monkeypatch, capsys, jobs):
    for _ in range(jobs):
        assert run_job(monkeypatch, [("apply", lambda ctx: StageReport())]) == 0
    where = tmp_path / "results" if jobs > 1 else next(
        (tmp_path / "results").rglob("summary.json")).parent
    assert harness.main(["report", str(where)]) == 0
    report = where / "report.html"
    before = report.read_bytes()
    capsys.readouterr()
    real = os.fsync

    def full(fd):
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(where / ".report.html")):
            enospc()
        return real(fd)
    monkeypatch.setattr(os, "fsync", full)
    code = harness.main(["report", str(where)])
    err = capsys.readouterr().err
    assert code == 7, err
    assert "no space left on the device" in err and "Traceback" not in err
    assert report.read_bytes() == before
    assert not [p for p in where.iterdir() if p.name.endswith(".tmp")]


def test_an_interrupted_atomic_write_leaves_no_temp_file(tmp_path, monkeypatch):
    from common.fsutil import atomic_write
    f = tmp_path / "d" / "dmesg.txt"
    atomic_write(f, "earlier\n")

    def interrupted(fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(f, "later\n")
    assert f.read_text() == "earlier\n" and [p.name for p in f.parent.iterdir()] == [f.name]
