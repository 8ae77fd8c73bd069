"""The shard plan: which machine runs which jobs of a matrix, for CI engines.

`harness.py matrix FILE --plan --format json|github|k8s` prints it and changes
nothing; `matrix FILE --shard I/N` (or `--shard auto`) runs one shard of it.

Order (base first): the matrix's jobs are reordered so that every base job
(`base: true`) comes before every series job, keeping file order within each
group; job k of that order goes to shard (k mod N) + 1. So the base jobs are
the first jobs of shards 1, 2, ... and each shard builds the base it holds
before any series job: with a shared ccache (`--ccache-remote`) the series
builds started after it reuse the base tree's objects. Shard ids are 1-based
in `--shard I/N` (GitHub's matrix value) and 0-based as an index
(`JOB_COMPLETION_INDEX` of a Kubernetes Indexed Job): index i is shard i+1.

The plan id is a hash of the shard count and every job's label and build-key
inputs; each shard writes it into its run.json, and `merge` refuses shards of
another plan.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass

from common.errors import UsageError

PLAN_VERSION = 1
ORDER = ("base first: base jobs precede series jobs, job k goes to shard (k mod N) + 1, "
         "so the base jobs are the first jobs of shards 1.. and each shard builds its "
         "base job before its series jobs")
INDEX_VAR = "JOB_COMPLETION_INDEX"
SHARDS_VAR = "KHARNESS_SHARDS"


@dataclass(frozen=True)
class Shard:
    index: int                  # 0-based
    total: int
    jobs: tuple                 # JobPlan, in run order

    @property
    def label(self) -> str:
        return f"{self.index + 1}/{self.total}"


def build_inputs(plan) -> dict:
    """What a job's build key depends on that is known before the build: the
    tree, the series revision and its patches' base, the config inputs, the
    toolchain, arch, make flags and targets. (The key itself also hashes the
    applied tree's HEAD and the final .config, known only after apply/config.)"""
    s = plan.spec
    base = getattr(getattr(plan, "revision", None), "base", None)
    return {"tree": s.tree, "series": s.series, "rev": s.rev,
            "series_base": getattr(base, "tree", None) if base is not None else None,
            "upto": s.upto, "skip": s.skip, "profile": s.profile,
            "fragments": list(plan.fragments),
            "toolchain": plan.toolchain.name if plan.toolchain else s.toolchain,
            "arch": s.arch, "make_flags": list(plan.make.flags) or list(s.make_flags),
            "targets": list(s.targets), "worktree": s.worktree,
            "not_run": plan.not_run}


def _digest(obj) -> str:
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def ordered(plans: list) -> list:
    """Base jobs first (file order kept within each group)."""
    return [p for p in plans if p.spec.base_only] + [p for p in plans if not p.spec.base_only]


def shards(plans: list, n: int) -> list[Shard]:
    if n < 1:
        raise UsageError(f"a plan needs at least 1 shard, not {n}")
    order = ordered(plans)
    return [Shard(i, n, tuple(p for k, p in enumerate(order) if k % n == i)) for i in range(n)]


def plan_id(plans: list, n: int) -> str:
    return _digest({"v": PLAN_VERSION, "shards": n,
                    "jobs": [[p.spec.label(), build_inputs(p)] for p in ordered(plans)]})[:16]


def cache_keys(shard: Shard, pid: str) -> dict:
    """Keys for a CI cache step (actions/cache): ccache per toolchain and arch,
    restored from any earlier plan; finished builds per shard's build inputs."""
    tcs = sorted({(build_inputs(p)["toolchain"], p.spec.arch) for p in shard.jobs}) or \
        [("none", "none")]
    tag = "+".join(f"{t}-{a}" for t, a in tcs)
    inputs = _digest([build_inputs(p) for p in shard.jobs])[:16]
    return {"ccache": f"kharness-ccache-{tag}-{pid}-{shard.index}",
            "ccache_restore": f"kharness-ccache-{tag}-",
            "builds": f"kharness-builds-{inputs}",
            "builds_restore": "kharness-builds-"}


def plan_dict(plans: list, n: int, matrix: str) -> dict:
    pid = plan_id(plans, n)
    out = []
    for sh in shards(plans, n):
        out.append({"index": sh.index, "shard": sh.label,
                    "jobs": [{"job": p.spec.label(), "base": p.spec.base_only,
                              "build_inputs": build_inputs(p),
                              "inputs_hash": _digest(build_inputs(p))[:16]}
                             for p in sh.jobs],
                    "cache_keys": cache_keys(sh, pid)})
    return {"version": PLAN_VERSION, "plan_id": pid, "matrix": matrix, "shards": n,
            "order": ORDER, "shard_list": out}


def render(plans: list, n: int, matrix: str, fmt: str) -> str:
    d = plan_dict(plans, n, matrix)
    if fmt == "json":
        return json.dumps(d, indent=2, sort_keys=True)
    if fmt == "github":
        # the value for `strategy.matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}`
        inc = [{"shard": s["shard"], "index": s["index"], "plan_id": d["plan_id"],
                "jobs": " ".join(j["job"] for j in s["jobs"]),
                "ccache_key": s["cache_keys"]["ccache"],
                "ccache_restore": s["cache_keys"]["ccache_restore"],
                "builds_key": s["cache_keys"]["builds"],
                "builds_restore": s["cache_keys"]["builds_restore"]}
               for s in d["shard_list"]]
        return json.dumps({"include": inc}, separators=(",", ":"))
    if fmt == "k8s":
        # the fields of an Indexed Job's spec, and the env its pods need
        return json.dumps({"completions": n, "parallelism": n, "completionMode": "Indexed",
                           "env": {SHARDS_VAR: str(n), "KHARNESS_PLAN_ID": d["plan_id"]},
                           "plan_id": d["plan_id"],
                           "shards": [{"index": s["index"], "jobs": [j["job"] for j in s["jobs"]]}
                                      for s in d["shard_list"]]},
                          indent=2, sort_keys=True)
    raise UsageError(f"unknown plan format '{fmt}' (json, github or k8s)")


def parse_shard(text: str, total: int | None, env=None) -> tuple[int, int]:
    """(I, N), 1-based, from `--shard I/N` or `--shard auto` (JOB_COMPLETION_INDEX,
    0-based, with N from --shards or KHARNESS_SHARDS)."""
    env = os.environ if env is None else env
    if text != "auto":
        try:
            i, n = (int(x) for x in text.split("/"))
        except ValueError:
            raise UsageError(f"bad --shard '{text}': expected I/N (1-based, e.g. 1/2) "
                             f"or 'auto'") from None
        if not 1 <= i <= n:
            raise UsageError(f"bad --shard '{text}': need 1 <= I <= N")
        if total is not None and total != n:
            raise UsageError(f"--shard {text} disagrees with --shards {total}")
        return i, n
    if total is None:
        raw_n = env.get(SHARDS_VAR)
        if raw_n is None:
            raise UsageError(f"--shard auto needs the shard count: --shards N or {SHARDS_VAR}")
        try:
            total = int(raw_n)
        except ValueError:
            raise UsageError(f"bad {SHARDS_VAR}='{raw_n}': not a number") from None
    if total < 1:
        raise UsageError(f"bad shard count {total}: need at least 1")
    raw = env.get(INDEX_VAR)
    if raw is None:
        raise UsageError(f"--shard auto: {INDEX_VAR} is not set (a Kubernetes Indexed Job "
                         f"sets it; on GitHub pass --shard I/N)")
    try:
        idx = int(raw)
    except ValueError:
        raise UsageError(f"--shard auto: bad {INDEX_VAR}='{raw}': not a number") from None
    if not 0 <= idx < total:
        raise UsageError(f"--shard auto: {INDEX_VAR}={idx} is outside 0..{total - 1} "
                         f"({total} shards)")
    return idx + 1, total
