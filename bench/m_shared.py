"""Measurement 9: a compiler cache shared between machines (issue 20).

The matrix (default: pipeline/matrices/default.yaml; `--shared-matrix fixture` is
the small fixture matrix) is planned with one job per shard (`matrix --plan`), base
first. Three local "machines", each its own HARNESS_CACHE under out/machines/ with
only the imported tree in it (a local clone) and an empty ccache:

- A runs the baseline shard(s) with `--ccache-remote` on a fresh redis-server;
- B then runs the series shards with the same remote (its own ccache stays empty);
- C runs the same series shards with no remote (a cold private ccache).

The figure is B's wall time over C's: whole `harness.py matrix --shard I/N`
processes, so apply, config, boot and tests (the same on both) are in it; the
ratio of the build stages alone and B's ccache counters are kept in raw."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InfraError, UsageError
from common.fsutil import REPO_ROOT, read_json
from common.localredis import redis_server

from .coldcache import ColdRequest, ccache_stats, reset_private_cache
from .context import Context
from .driver import harness
from .stats import Figure, ratio

DEFAULT_MATRIX = REPO_ROOT / "pipeline" / "matrices" / "default.yaml"
FIXTURE_MATRIX = REPO_ROOT / "pipeline" / "matrices" / "smoke-small.yaml"
TITLE = "series shards after the baseline shard: shared redis ccache against none"
WHAT = ("wall time of the series shards on machine B (own cache, ccache remote on the "
        "redis the baseline shard on machine A filled) over the same shards on machine C "
        "(own cache, cold private ccache, no remote)")
VERDICTS = (0, 1)           # a matrix exit that is a test verdict, not a bench failure


def matrix_arg(text: str) -> Path:
    """`--shared-matrix`: `default`, `fixture` or a matrix file."""
    named = {"default": DEFAULT_MATRIX, "fixture": FIXTURE_MATRIX}
    path = named.get(text, Path(text))
    if not path.is_file():
        raise UsageError(f"--shared-matrix {text!r}: no such matrix file "
                         f"(or 'default', 'fixture')")
    return path.resolve()


@dataclass
class ShardRun:
    shard: str
    wall: float
    build: float                     # the build stages of its jobs, seconds
    exit_code: int
    jobs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"shard": self.shard, "wall": round(self.wall, 3), "build": round(self.build, 3),
                "exit_code": self.exit_code, "jobs": self.jobs}


def split_plan(doc: dict) -> tuple[list[str], list[str]]:
    """(base shards, series shards) of a `matrix --plan --format json` document: a
    shard is a base shard when every job in it is a base job."""
    base, series = [], []
    for s in doc.get("shard_list", []):
        jobs = s.get("jobs") or []
        if not jobs:
            continue
        (base if all(j.get("base") for j in jobs) else series).append(s["shard"])
    if not base or not series:
        raise InfraError(f"the plan of {doc.get('matrix')} needs a baseline shard and a "
                         f"series shard (base: {base}, series: {series})")
    return base, series


def read_plan(ctx: Context, matrix: Path) -> dict:
    c = harness(ctx.runner, ["matrix", str(matrix), "--plan", "--format", "json"], ctx.user,
                ctx.log("shared-plan"), timeout=600)
    try:
        doc = json.loads(c.output[c.output.index("{"):])
    except ValueError:
        raise InfraError(f"matrix --plan of {matrix} printed no plan (exit {c.returncode}; "
                         f"log: {c.log})") from None
    return doc


def machine(ctx: Context, name: str) -> Context:
    """A local "machine": its own out dir, results and HARNESS_CACHE (tree only)."""
    m = Context(ctx.runner, ctx.out / "machines" / name, ctx.steps, ctx.repeat)
    reset_private_cache(m, ColdRequest())
    return m


def run_shard(m: Context, matrix: Path, shard: str, remote: str | None) -> ShardRun:
    results = m.out / "results" / shard.replace("/", "of")
    args = ["matrix", str(matrix), "--shard", shard, "--results", str(results)]
    env = m.private
    env.extra["KHARNESS_CCACHE_REMOTE"] = ""        # only --ccache-remote, never inherited
    if remote:
        args += ["--ccache-remote", remote]
    c = harness(m.runner, args, env, m.log("shard-" + shard.replace("/", "of")))
    if c.returncode not in VERDICTS:
        raise InfraError(f"shard {shard} of {matrix.name} ended with exit {c.returncode} "
                         f"(log: {c.log})")
    build, jobs = 0.0, []
    for p in sorted(results.rglob("summary.json")):
        s = read_json(p)
        jobs.append(s.get("job", p.parent.name))
        build += sum(float(st.get("duration", 0.0)) for st in s.get("stages", [])
                     if st.get("name") == "build")
    if not jobs:
        raise InfraError(f"shard {shard} left no job results under {results} (log: {c.log})")
    return ShardRun(shard, c.wall, build, c.returncode, jobs)


def shared_figure(matrix: Path, base: list[ShardRun], shared: list[ShardRun],
                  cold: list[ShardRun], ccache_b: dict) -> Figure:
    """The figure from the measured shards: B's series wall over C's."""
    wall_b, wall_c = sum(r.wall for r in shared), sum(r.wall for r in cold)
    build_b, build_c = sum(r.build for r in shared), sum(r.build for r in cold)
    value = ratio(wall_b, wall_c)
    raw = {"matrix": str(matrix), "baseline_shards": [r.to_dict() for r in base],
           "shared_series_shards": [r.to_dict() for r in shared],
           "cold_series_shards": [r.to_dict() for r in cold],
           "series_wall_shared": round(wall_b, 3), "series_wall_cold": round(wall_c, 3),
           "series_build_shared": round(build_b, 3), "series_build_cold": round(build_c, 3),
           "ccache_b": ccache_b}
    notes = [f"matrix {matrix.name}",
             f"series shards {wall_b:.0f} s shared / {wall_c:.0f} s cold",
             f"baseline shard(s) {sum(r.wall for r in base):.0f} s"]
    if build_c > 0:
        notes.append(f"build stages alone {ratio(build_b, build_c):.3f} "
                     f"({build_b:.0f} s / {build_c:.0f} s)")
    if ccache_b:
        notes.append(f"machine B: {ccache_b.get('remote_storage_hit', 0)} remote ccache "
                     f"hits, {ccache_b.get('cache_miss', 0)} misses")
    return Figure("9", TITLE, samples=[value], what=WHAT, raw=raw, notes=notes)


def measure_shared(ctx: Context, matrix: Path, redis=None) -> Figure:
    """Measurement 9 (see the module doc); `redis` is a context manager giving the
    remote URL (default: a real redis-server on a free loopback port)."""
    base_ids, series_ids = split_plan(read_plan(ctx, matrix))
    with (redis or redis_server)(ctx.out / "redis") as url:
        a = machine(ctx, "a")
        base = [run_shard(a, matrix, s, url) for s in base_ids]
        b = machine(ctx, "b")
        shared = [run_shard(b, matrix, s, url) for s in series_ids]
        stats_b = ccache_stats(b)
    c = machine(ctx, "c")
    cold = [run_shard(c, matrix, s, None) for s in series_ids]
    return shared_figure(matrix, base, shared, cold, stats_b)


