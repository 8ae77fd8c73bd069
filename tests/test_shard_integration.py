"""The shard contract for real, on the small fixture matrix (pipeline/matrices/
smoke-small.yaml: the baseline and kharness-fixture@v1 on the small profile).

Two "machines" run `harness.py matrix --shard auto --shards 2` as separate processes
with JOB_COMPLETION_INDEX=0 and 1, each with its own HARNESS_CACHE (own ccache, build
dirs, worktrees and finished builds; the imported tree is a local clone of the
user's, as a CI cache step would restore it) and both with `--ccache-remote` on a
real redis-server. Base first: shard 1/2 (index 0) holds the baseline, shard 2/2
(index 1) the series job; the series shard does not need the baseline shard's
results, only its objects in the shared ccache, so it runs after it here.
`harness.py merge` of the two equals an unsharded run of the same matrix in
verdicts, counts and comparisons, and the second machine's ccache statistics show
remote hits for what the first put into redis.

To fit the CI budget, machine A's local ccache starts as a copy of the user's (the
session's small kernel is built from it) with CCACHE_RESHARE, so A's local hits are
written to redis as its compiles would be; redis itself starts empty, so every
remote hit of B is an object A's build stored. B's ccache starts empty. The
unsharded run is on machine A after `cache export` on B and `cache import` on A of
the series build (the artifacts that travel), so it builds nothing and boots the
same two kernels again."""
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

import harness
from common.fsutil import REPO_ROOT, cache_dir, read_json, write_json
from common.localredis import redis_server

pytestmark = pytest.mark.integration

MATRIX = REPO_ROOT / "pipeline" / "matrices" / "smoke-small.yaml"
TREE = "debian-6.12"
RECORD = "kharness-tree.json"
RUN_TIMEOUT = 15 * 60


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


def seed_machine(cache, ccache_from=None):
    """A machine's own HARNESS_CACHE with the imported tree in it (a bare local clone
    of the user's, objects hard-linked, and its import record) and, given
    `ccache_from`, a copy of that ccache dir with its counters zeroed."""
    src = cache_dir() / "trees" / TREE
    dst = cache / "trees" / TREE
    dst.parent.mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", "--local", str(src), str(dst)],
                   check=True, timeout=600)
    write_json(dst / RECORD, read_json(src / RECORD))
    if ccache_from is not None and ccache_from.is_dir():
        shutil.copytree(ccache_from, cache / "ccache", symlinks=True)
    (cache / "ccache").mkdir(exist_ok=True)
    subprocess.run(["ccache", "-z"], env={**os.environ, "CCACHE_DIR": str(cache / "ccache")},
                   check=True, timeout=120, capture_output=True)
    return cache


def harness_cli(args, cache, log, **env):
    """`harness.py ARGS` as its own process (another machine), output to `log`."""
    full = {k: v for k, v in os.environ.items()
            if k not in ("KHARNESS_CCACHE_REMOTE", "JOB_COMPLETION_INDEX", "KHARNESS_SHARDS",
                         "CCACHE_RESHARE")}
    full.update({"HARNESS_CACHE": str(cache), **env})
    t = time.monotonic()
    with open(log, "w") as f:
        res = subprocess.run([sys.executable, str(REPO_ROOT / "harness.py"), *args],
                             cwd=REPO_ROOT, env=full, stdout=f, stderr=subprocess.STDOUT,
                             timeout=RUN_TIMEOUT)
    return res.returncode, time.monotonic() - t


def run_dir(results):
    found = sorted(results.glob("*/run.json"))
    assert len(found) == 1, found
    return found[0].parent


def ccache_stats(cache) -> dict:
    res = subprocess.run(["ccache", "--print-stats"], env={**os.environ,
                         "CCACHE_DIR": str(cache / "ccache")},
                         capture_output=True, text=True, timeout=60, check=True)
    return {k: int(v) for k, v in (ln.split("\t") for ln in res.stdout.splitlines()
                                   if "\t" in ln)}


def series_build_key(run) -> str:
    keys = [read_json(p)["facts"]["build"]["key"] for p in run.rglob("manifest.json")
            if "/base/" not in str(p)]
    assert len(keys) == 1, (run, keys)
    return keys[0]


@pytest.fixture(scope="module")
def sharded(default_tree, small_kernel, redis, tmp_path_factory):
    """Shard 0 on machine A, then shard 1 on machine B (both through redis), then the
    whole matrix unsharded on machine A with B's build imported; the exit codes,
    times and A's and B's ccache statistics after their shard."""
    root = tmp_path_factory.mktemp("shards")
    a = seed_machine(root / "a-cache", ccache_from=cache_dir() / "ccache")
    b = seed_machine(root / "b-cache")
    out = {"root": root, "times": {}}
    for idx, cache, extra in ((0, a, {"CCACHE_RESHARE": "true"}), (1, b, {})):
        code, took = harness_cli(["matrix", str(MATRIX), "--shard", "auto", "--shards", "2",
                                  "--ccache-remote", redis, "--results", str(root / f"s{idx}")],
                                 cache, root / f"shard{idx}.log", JOB_COMPLETION_INDEX=str(idx),
                                 **extra)
        out[f"s{idx}"] = (code, run_dir(root / f"s{idx}"))
        out[f"stats{idx}"] = ccache_stats(cache)
        out["times"][f"shard{idx}"] = took
    key = series_build_key(out["s1"][1])
    carry = root / "carry"
    assert harness_cli(["cache", "export", key, str(carry)], b, root / "export.log")[0] == 0
    assert harness_cli(["cache", "import", str(carry)], a, root / "import.log")[0] == 0
    code, took = harness_cli(["matrix", str(MATRIX), "--results", str(root / "whole")],
                             a, root / "whole.log")
    out["whole"] = (code, run_dir(root / "whole"))
    out["times"]["whole"] = took
    print(f"shard contract times: {out['times']}; ccache A {out['stats0']}; "
          f"ccache B {out['stats1']}")
    return out


def job_counts(run):
    return {read_json(p)["job"]: (read_json(p)["counts"], read_json(p)["exit_code"])
            for p in run.rglob("summary.json")}


def test_each_shard_ran_its_plan_part(sharded):
    (c0, d0), (c1, d1) = sharded["s0"], sharded["s1"]
    assert c0 == 0 and c1 == 0, (sharded["root"] / "shard0.log", sharded["root"] / "shard1.log")
    r0, r1 = read_json(d0 / "run.json"), read_json(d1 / "run.json")
    assert r0["plan"]["id"] == r1["plan"]["id"]
    assert (r0["plan"]["shard"], r1["plan"]["shard"]) == ("1/2", "2/2")
    assert r0["plan"]["jobs"] == ["baseline-small"]                  # base first
    assert [j["base"] for j in r0["jobs"]] == [True] and [j["base"] for j in r1["jobs"]] == [False]
    assert r1["plan"]["jobs"] == ["kharness-fixture@v1:small:gcc:kharness-fixture+tap-smoke"]
    assert r0["ccache_remote"] == r1["ccache_remote"]


def test_merge_equals_the_unsharded_run(sharded, tmp_path, capsys):
    (_, d0), (_, d1) = sharded["s0"], sharded["s1"]
    whole_code, whole = sharded["whole"]
    code = harness.main(["merge", str(d1), str(d0), "--out", str(tmp_path / "merged")])
    capsys.readouterr()
    merged, full = read_json(tmp_path / "merged" / "run.json"), read_json(whole / "run.json")
    assert code == whole_code == 0
    assert sorted((j["job"], j["exit_code"], j["state"]) for j in merged["jobs"]) == \
        sorted((j["job"], j["exit_code"], j["state"]) for j in full["jobs"])
    assert len(merged["comparisons"]) == 1
    assert merged["comparisons"] == full["comparisons"]
    assert {**job_counts(d0), **job_counts(d1)} == job_counts(whole)
    assert all(counts.get("pass", 0) >= 1 for counts, _ in job_counts(whole).values())


def test_second_machine_hits_the_first_machines_objects(sharded):
    a, b = sharded["stats0"], sharded["stats1"]
    assert a.get("remote_storage_hit", 0) == 0                 # redis started empty
    stored_by_a = a.get("remote_storage_write", 0)
    hits_b = b.get("remote_storage_hit", 0)
    calls_b = hits_b + b.get("cache_miss", 0)
    assert b.get("local_storage_miss", 0) >= hits_b >= 100     # not in its own ccache
    assert hits_b <= stored_by_a and hits_b >= 0.9 * calls_b, (a, b)


def test_the_unsharded_run_used_the_imported_builds(sharded):
    """Both builds of the unsharded run were cache hits on machine A: the baseline
    it built as shard 0, the series build carried from B by export/import."""
    _, whole = sharded["whole"]
    cached = [read_json(p)["facts"]["build"]["cached"] for p in whole.rglob("manifest.json")]
    assert cached == [True, True]
