"""Matrix files: a list of jobs (tree x series@rev x profile x toolchain x suites).

    defaults: {tree: debian-6.12, profile: bpf, toolchain: gcc, suites: [smoke]}
    jobs:
      - name: baseline
        base: true
      - series: path-iterator@v5.1-6.12
        suites: [path-iterator, smoke]

Sharding (--shard I/N, --shard auto) is pipeline/plan.py's: base jobs first, then
job k of that order goes to shard (k mod N) + 1.
"""
from __future__ import annotations

from pathlib import Path

from common.errors import InputError
from common.yamlfile import Located, line_of, load_yaml

from .job import JobSpec, spec_from_entry


def load_matrix(path: Path | str) -> list[JobSpec]:
    return [spec for spec, _ in load_matrix_jobs(path)]


def load_matrix_jobs(path: Path | str) -> list[tuple[JobSpec, str]]:
    """(spec, 'file:line' of its entry) for every job of a matrix file."""
    path = str(path)
    data = load_yaml(path)
    if not isinstance(data, Located) or "jobs" not in data:
        raise InputError("a matrix file is a mapping with a 'jobs' list", path=path, line=1)
    unknown = sorted(set(data) - {"defaults", "jobs"})
    if unknown:
        raise InputError(f"unknown key '{unknown[0]}' (a matrix has 'defaults' and 'jobs')",
                         path=path, line=line_of(data, unknown[0]))
    defaults = data.get("defaults")
    defaults = Located() if defaults is None else defaults
    if not isinstance(defaults, Located):
        raise InputError("'defaults' must be a mapping", path=path, line=line_of(data, "defaults"))
    jobs = data["jobs"]
    if not isinstance(jobs, list) or not jobs:
        raise InputError("'jobs' must be a non-empty list", path=path, line=line_of(data, "jobs"))
    specs = [spec_from_entry(j, defaults, path) for j in jobs]
    labels = [s.label() for s in specs]
    for i, label in enumerate(labels):
        if label in labels[:i]:
            raise InputError(f"duplicate job '{label}'", path=path, line=line_of(jobs[i]))
    return [(s, f"{path}:{line_of(j)}") for s, j in zip(specs, jobs)]
