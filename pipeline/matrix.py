"""Matrix files: a list of jobs (tree x series@rev x profile x toolchain x suites).

    defaults: {tree: debian-6.12, profile: bpf, toolchain: gcc, suites: [smoke]}
    jobs:
      - name: baseline
        base: true
      - series: path-iterator@v5.1-6.12
        suites: [path-iterator, smoke]

Sharding (--shard I/N): job number j (0-based, in file order) belongs to shard
(j mod N) + 1, so N machines together run every job exactly once.
"""
from __future__ import annotations

from pathlib import Path

from common.errors import InputError, UsageError
from common.yamlfile import Located, line_of, load_yaml

from .job import JobSpec

JOB_KEYS = {"name", "base", "series", "tree", "profile", "toolchain", "suites", "fragments",
            "accel", "upto", "allow_drop", "make_flags", "targets"}
LIST_KEYS = {"suites", "fragments", "allow_drop", "make_flags", "targets"}


def split_series(text: str) -> tuple[str, str | None]:
    name, _, rev = text.partition("@")
    if not name:
        raise UsageError(f"bad series '{text}': expected SERIES or SERIES@REV")
    return name, rev or None


def _job(raw, defaults: dict, path: str) -> JobSpec:
    if not isinstance(raw, Located):
        raise InputError("each job must be a mapping", path=path, line=line_of(raw))
    merged = dict(defaults)
    merged.update(raw)
    unknown = sorted(set(merged) - JOB_KEYS)
    if unknown:
        raise InputError(f"unknown job key '{unknown[0]}' (known: {', '.join(sorted(JOB_KEYS))})",
                         path=path, line=line_of(raw, unknown[0]))
    for key in LIST_KEYS & set(merged):
        if not isinstance(merged[key], list):
            raise InputError(f"'{key}' must be a list", path=path, line=line_of(raw, key))
    base = bool(merged.pop("base", False))
    series = merged.pop("series", None)
    if base == (series is not None):
        raise InputError("a job needs exactly one of 'series: NAME@REV' or 'base: true'",
                         path=path, line=line_of(raw))
    spec = JobSpec(**{k: v for k, v in merged.items() if k != "series"})
    if series is not None:
        spec.series, spec.rev = split_series(str(series))
    return spec


def load_matrix(path: Path | str) -> list[JobSpec]:
    path = str(path)
    data = load_yaml(path)
    if not isinstance(data, Located) or "jobs" not in data:
        raise InputError("a matrix file is a mapping with a 'jobs' list", path=path, line=1)
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise InputError("'defaults' must be a mapping", path=path, line=line_of(data, "defaults"))
    jobs = data["jobs"]
    if not isinstance(jobs, list) or not jobs:
        raise InputError("'jobs' must be a non-empty list", path=path, line=line_of(data, "jobs"))
    specs = [_job(j, defaults, path) for j in jobs]
    labels = [s.label() for s in specs]
    for i, label in enumerate(labels):
        if label in labels[:i]:
            raise InputError(f"duplicate job '{label}'", path=path, line=line_of(jobs[i]))
    return specs


def parse_shard(text: str) -> tuple[int, int]:
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise UsageError(f"bad --shard '{text}': expected I/N, e.g. 1/2") from None
    if not 1 <= i <= n:
        raise UsageError(f"bad --shard '{text}': need 1 <= I <= N")
    return i, n


def shard(specs: list[JobSpec], i: int, n: int) -> list[JobSpec]:
    return [s for j, s in enumerate(specs) if j % n == i - 1]
