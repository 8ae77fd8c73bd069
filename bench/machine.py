"""The machine a bench ran on: cores, memory, CPU, and KVM or TCG as the harness's
probe decided it for the jobs of the run (from their manifest.json)."""
from __future__ import annotations

import os
import platform
import re
from pathlib import Path

from common.fsutil import REPO_ROOT


def meminfo_gib(text: str) -> float | None:
    m = re.search(r"^MemTotal:\s+(\d+) kB", text, re.M)
    return round(int(m.group(1)) / (1 << 20), 1) if m else None


def cpu_model(text: str) -> str | None:
    m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
    return m.group(1).strip() if m else None


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def accel_of(jobs) -> dict:
    """What the probe chose for the bench's jobs: {accel, reason, jobs}."""
    seen: dict[str, str | None] = {}
    for job in jobs:
        accel, why = job.accel()
        if accel:
            seen.setdefault(accel, why)
    if not seen:
        return {"accel": None, "reason": "no job of this run booted a VM"}
    accel = "+".join(sorted(seen))
    return {"accel": accel, "reason": "; ".join(f"{a}: {w}" for a, w in seen.items() if w)}


def git_commit(runner) -> str | None:
    """The harness checkout's HEAD (taken when the bench starts)."""
    res = runner.run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], timeout=60)
    return res.stdout.strip() if res.returncode == 0 else None


def machine(jobs, commit: str | None) -> dict:
    return {"cores": os.cpu_count(), "memory_gib": meminfo_gib(_read("/proc/meminfo")),
            "cpu": cpu_model(_read("/proc/cpuinfo")), "kernel": platform.release(),
            "host": platform.node(), "git_commit": commit, **accel_of(jobs)}
