"""reproduce.sh: the harness command that redoes a job, and every command it ran."""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from common.errors import HarnessError
from common.fsutil import REPO_ROOT, atomic_write

from .byhand import ByHandInputs, byhand_script, plan_byhand
from .job import JobSpec, spec_to_argv


def harness_argv(spec: JobSpec) -> list[str]:
    """The `harness.py run` command line that runs this job again (from the job
    option table, like every other command line of a job)."""
    return ["./harness.py", "run", *spec_to_argv(spec)]


def _environment() -> list[str]:
    """The settings that change where the harness looks (a private cache)."""
    cache = os.environ.get("HARNESS_CACHE")
    return [f"export HARNESS_CACHE={shlex.quote(cache)}"] if cache else []


def write_reproducer(store, spec: JobSpec, argv: list[str] | None,
                     byhand: ByHandInputs | None = None) -> Path:
    """<job>/reproduce.sh: the harness command by default; with --by-hand, the
    job's steps without the harness (from `byhand`, the job's typed results; when
    it is not given, the commands the harness logged)."""
    lines = [
        "#!/usr/bin/env bash",
        f"# Reproduce job {spec.label()} ({store.job}).",
        "# Default: run the same job again with the harness (warm caches are reused).",
        "# With --by-hand [WORKDIR]: the job's own steps without the harness (git am,",
        "# .config, make, vng boot, the suites' guest commands).",
        "set -euo pipefail",
        f"cd {shlex.quote(str(REPO_ROOT))}",
    ] + _environment() + [
        'if [ "${1:-}" != "--by-hand" ]; then',
        '  PY=python3; if [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi',
        '  exec "$PY" ' + " ".join(shlex.quote(a) for a in harness_argv(spec)),
        "fi",
    ]
    lines += _byhand_lines(store, byhand)
    if argv:
        lines.insert(4, "# Original invocation: " + " ".join(shlex.quote(a) for a in
                                                              [sys.argv[0], *argv]))
    path = store.path / "reproduce.sh"
    atomic_write(path, "\n".join(lines) + "\n")
    path.chmod(0o755)
    return path


def _byhand_lines(store, byhand: ByHandInputs | None) -> list[str]:
    """The by-hand part; a job whose results cannot make one says why and exits 2."""
    if byhand is None:
        cmds = store.path / "commands.log"
        return cmds.read_text().splitlines() if cmds.exists() else []
    try:
        plan = plan_byhand(byhand, store.path / "reproduce")
    except (HarnessError, OSError) as e:
        why = f"by hand: cannot reproduce this job without the harness: {e}"
        return [f"echo {shlex.quote(why)} >&2", "exit 2"]
    return byhand_script(plan).splitlines()
