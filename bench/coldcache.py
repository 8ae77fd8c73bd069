"""The bench's private harness cache (out/cache): emptied before the cold
measurements, then given the imported tree, so that "cold" means no worktree,
no build dir, no finished build and an empty ccache."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from common.errors import InfraError
from common.fsutil import cache_dir, read_json, write_json

from .context import TREE, Context
from .driver import harness

RECORD = "kharness-tree.json"


@dataclass
class ColdRequest:
    tree: str = TREE


@dataclass
class ColdResult:
    cache: Path
    seeded_from: str        # "clone of <path>" or "harness.py tree import <tree>"


def reset_private_cache(ctx: Context, req: ColdRequest) -> ColdResult:
    """Empty out/cache and put the tree back: a local bare clone of the user's
    imported tree when there is one (objects hard-linked, seconds), else a real
    `harness.py tree import`."""
    cache = ctx.private.cache
    if cache.exists():
        shutil.rmtree(cache)
    (cache / "trees").mkdir(parents=True)
    src = cache_dir() / "trees" / req.tree
    if (src / RECORD).is_file():
        dst = cache / "trees" / req.tree
        res = ctx.runner.run(["git", "clone", "-q", "--bare", "--local", str(src), str(dst)],
                             timeout=1800)
        if res.returncode != 0:
            raise InfraError(f"cannot clone the tree {src}: {res.stderr.strip()[-500:]}")
        write_json(dst / RECORD, read_json(src / RECORD))
        return ColdResult(cache, f"clone of {src}")
    call = harness(ctx.runner, ["tree", "import", req.tree], ctx.private, ctx.log("tree-import"))
    if call.returncode != 0:
        raise InfraError(f"tree import of {req.tree} failed (log: {call.log})")
    return ColdResult(cache, f"harness.py tree import {req.tree}")


def ccache_stats(ctx: Context) -> dict[str, int]:
    """Counters of the private ccache (`ccache --print-stats`); {} when unreadable."""
    from .buildlog import parse_ccache_stats
    res = ctx.runner.run(["ccache", "--print-stats"], timeout=120,
                         env={"CCACHE_DIR": str(ctx.private.cache / "ccache")})
    return parse_ccache_stats(res.stdout) if res.returncode == 0 else {}


def stats_delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    keys = ("cache_miss", "direct_cache_hit", "preprocessed_cache_hit")
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys if k in after}
