"""Measurement 5: the wall time of a within-series bisect of path-iterator@v5-6.12
(5 patches; criterion: the W=1 kernel-doc warning on __path_walk_parent that v5's
patch 1 brings, see patches/series/path-iterator/PORTING.md), against
(ceil(log2 5) + 1) x the wall time of one incremental step measured after it.

Each step builds `fs/namei.o` only (`--target`), the object whose warning is the
criterion, as a developer bisecting a build warning would: a whole W=1 kernel per
step would measure the compiler, not the bisect (W=1 defeats ccache, so the warm-up
alone was a 24-minute cold build)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from common.errors import InfraError

from .context import Context, job_args
from .driver import harness, load_run
from .stats import Figure, bisect_steps, ratio

SERIES = "path-iterator@v5-6.12"
PATCHES = 5
CRITERION = "warning:__path_walk_parent"
OBJ = "fs/namei.o"
W1 = ["--make-flag", "W=1", "--target", OBJ]
STEP_RE = re.compile(r"^\s+(\d+) patches: ")        # a step in the summary after 'steps: N'
FIRST_BAD_RE = re.compile(r"^first bad: (.+)$", re.M)
STEPS_RE = re.compile(r"^steps: (\d+)$", re.M)


@dataclass
class BisectOutcome:
    wall: float
    visited: list[int]          # patch counts the bisect built, in order
    first_bad: str
    steps: int


def parse_bisect_output(text: str) -> BisectOutcome:
    """What `harness.py bisect` printed: the steps it took and the first bad patch."""
    bad = FIRST_BAD_RE.search(text)
    steps = STEPS_RE.search(text)
    if bad is None or steps is None:
        raise InfraError("the bisect printed no 'first bad:' or 'steps:' line")
    # the summary lists the steps in order (live step lines appear only on a TTY)
    after = text[steps.end():].splitlines()[1:1 + int(steps.group(1))]
    visited = [int(m.group(1)) for m in map(STEP_RE.match, after) if m]
    return BisectOutcome(0.0, visited, bad.group(1).strip(), int(steps.group(1)))


def step_count(visited: list[int], patches: int = PATCHES) -> tuple[int, bool]:
    """The patch count to time one step with: one the bisect did not build (so the
    step is a real incremental rebuild), else the last one it built (then forced)."""
    for k in range(patches, 0, -1):
        if k not in visited:
            return k, False
    return visited[-1], True


def bisect_cost(ctx: Context) -> Figure:
    warm = ctx.keep(load_run(harness(ctx.runner, ["run", *job_args(SERIES, *W1)],
                                     ctx.private, ctx.log("bisect-warm-up-W1"))))
    c = harness(ctx.runner, ["bisect", *job_args(SERIES, *W1), "--criterion", CRITERION,
                             "--tries", "1", "--confirm", "0"], ctx.private, ctx.log("bisect"))
    if c.returncode != 0:
        raise InfraError(f"the bisect found no first bad patch (exit {c.returncode}; "
                         f"log: {c.log})")
    out = parse_bisect_output(c.output)
    out.wall = c.wall
    k, forced = step_count(out.visited)
    extra = ["--upto", str(k)] + (["--rebuild"] if forced else [])
    step = ctx.keep(load_run(harness(ctx.runner, ["run", *job_args(SERIES, *W1, *extra)],
                                     ctx.private, ctx.log(f"bisect-one-step-upto{k}"))))
    n = bisect_steps(PATCHES)
    notes = [f"first bad: {out.first_bad}; the bisect took {out.steps} steps "
             f"(patch counts {', '.join(map(str, out.visited))}), --tries 1",
             f"one step = `harness.py run {SERIES} --upto {k} --make-flag W=1 "
             f"--target {OBJ}`"
             + (" --rebuild (every patch count was already built)" if forced else
                f" after the bisect ({k} patches: not built by the bisect)"),
             f"before the bisect, an untimed W=1 build of {OBJ} with all {PATCHES} "
             f"patches ({warm.wall:.0f}s) so that no step pays for the build dir's "
             f"first `make prepare`",
             f"every step builds {OBJ} only (the criterion's object); boot and tests "
             f"are not run"]
    return Figure(
        "5", f"bisect cost ({PATCHES}-patch series)", samples=[ratio(out.wall, n * step.wall)],
        what=f"wall time of `harness.py bisect {SERIES} --criterion {CRITERION}` / "
             f"(ceil(log2 {PATCHES}) + 1 = {n}) x wall time of one incremental step",
        raw={"bisect_s": out.wall, "step_s": step.wall, "steps_expected": n,
             "steps_taken": out.steps, "visited": out.visited, "warm_up_s": warm.wall,
             "step_stages": step.stage_statuses(), "first_bad": out.first_bad},
        notes=notes)
