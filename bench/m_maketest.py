"""Measurements 10 and 11: a cold and a cached `make test`, end to end (issue 21).

The command is the one the Makefile's `test` target runs (read from the Makefile,
so the figure follows it): today `harness.py matrix pipeline/matrices/default.yaml`.
It runs as a subprocess from the repository root with the bench's private
HARNESS_CACHE (out/cache), emptied first except the imported tree (a local clone,
as for figures 2-5: coldcache.reset_private_cache), and no ccache remote (one the
user set would make the cold run warm). Then the same command runs again,
unchanged, on the cache the first run left.

10: the cold run's wall time, in minutes, against 90 (an absolute time with a
    target, not a ratio);
11: the cached run's wall time against 8 minutes.

A matrix exit of 0 or 1 (a test verdict) is a measured run; any other exit (a job
that could not apply, configure, build or boot) fails the figure. Each run's
results go to out/maketest/<run>/ (HARNESS_RESULTS); from each job's summary.json
the per-job breakdown is built: the apply, config, build, selftests-build, boot and
test stages (duration and status), the job's wall time (summary started..ended) and
the objects its build stage compiled: the build stage's own count
(`data.objects.compiled`, what kbuild's watcher counted while make ran), or, for a
summary written before the build result recorded it, the kbuild `CC` lines of the
job's build log (<job>/build/build.log), the source figure 3 uses; a cached build
compiled none."""
from __future__ import annotations

import datetime as dt
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InfraError, InputError
from common.fsutil import REPO_ROOT, read_json, write_json

from .buildlog import compiled_objects
from .coldcache import ColdRequest, reset_private_cache
from .context import Context
from .driver import Env, call
from .m_shared import VERDICTS
from .stats import Figure, Target

MAKEFILE = REPO_ROOT / "Makefile"
LEFT_BY = "bench-cold-run.json"       # in the private cache: the cold run that filled it
UNRECORDED = "an earlier run (not recorded)"
STAGES = ("apply", "config", "build", "selftests-build", "boot", "test")
COLD_TARGET = Target("<=", 90.0)      # minutes
CACHED_TARGET = Target("<=", 8.0)
TIMEOUT = 8 * 3600                    # the README's cold estimate is 3.5 h
COLD_TITLE = "cold `make test`: wall time (absolute, minutes)"
CACHED_TITLE = "cached `make test` rerun: wall time (absolute, minutes)"
COLD_HOW = ("the bench's private HARNESS_CACHE emptied first except the imported tree "
            "(a local clone): no worktree, config scratch, build dir, finished build, "
            "selftests build or ccache; no ccache remote; the OS page cache not dropped")


def make_test_args(makefile: Path = MAKEFILE) -> list[str]:
    """The arguments after `harness.py` in the Makefile's `test` recipe."""
    lines = Path(makefile).read_text().splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.startswith("test:")), None)
    if start is None:
        raise InputError("no `test:` rule", path=str(makefile))
    for n, ln in enumerate(lines[start + 1:], start + 2):
        if not ln.startswith("\t"):
            break
        words = shlex.split(ln)
        at = next((i for i, w in enumerate(words) if w.endswith("harness.py")), None)
        if at is None:
            continue
        args = words[at + 1:]
        if any("$" in a for a in args):
            raise InputError(f"the `test` recipe passes make variables to harness.py "
                             f"({ln.strip()}); the bench cannot resolve them",
                             path=str(makefile), line=n)
        return args
    raise InputError("the `test` recipe runs no harness.py", path=str(makefile),
                     line=start + 1)


class MatrixFailed(InfraError):
    """A `make test` that ended with an exit other than a verdict: the figure
    fails, and keeps the per-job stages of what ran (`raw`, for figure `fid`), so
    a failed cold run still shows where its time went."""

    def __init__(self, message: str, fid: str, raw: dict | None):
        super().__init__(message)
        self.fid, self.raw = fid, raw


@dataclass
class JobTimes:
    """One job of a `make test` run, from its summary.json."""

    job: str
    exit_code: int | None
    wall: float | None                              # summary started..ended, seconds
    stages: dict[str, tuple[str, float]] = field(default_factory=dict)
    cc_objects: int | None = None                   # None: no build log to count

    def to_dict(self) -> dict:
        return {"job": self.job, "exit_code": self.exit_code, "wall": self.wall,
                "stages": {k: {"status": s, "duration": d} for k, (s, d) in self.stages.items()},
                "cc_objects": self.cc_objects}


@dataclass
class MatrixRun:
    kind: str                                       # "cold" or "cached"
    argv: list[str]
    wall: float                                     # the whole process, seconds
    exit_code: int
    log: Path
    jobs: list[JobTimes] = field(default_factory=list)

    @property
    def minutes(self) -> float:
        return self.wall / 60.0

    def to_dict(self) -> dict:
        return {"kind": self.kind, "argv": self.argv, "wall_s": round(self.wall, 3),
                "exit_code": self.exit_code, "log": str(self.log),
                "jobs": [j.to_dict() for j in self.jobs]}


def _seconds_between(started: str | None, ended: str | None) -> float | None:
    try:
        return (dt.datetime.fromisoformat(ended) - dt.datetime.fromisoformat(started)
                ).total_seconds()
    except (TypeError, ValueError):
        return None


def _cc_count(job_dir: Path, build_status: str | None,
              build_data: dict | None = None) -> int | None:
    if build_status == "cached":
        return 0
    compiled = ((build_data or {}).get("objects") or {}).get("compiled")
    if build_status == "ok" and compiled is not None:
        return int(compiled)
    log = job_dir / "build" / "build.log"
    if build_status != "ok" or not log.is_file():
        return None
    return len(compiled_objects(log.read_text(errors="replace").splitlines()))


def job_times(summary_path: Path) -> JobTimes:
    s = read_json(summary_path)
    stages = {st["name"]: (st.get("status", "?"), float(st.get("duration") or 0.0))
              for st in s.get("stages", []) if "name" in st}
    build = stages.get("build", (None, 0.0))[0]
    data = next((st.get("data") for st in s.get("stages", []) if st.get("name") == "build"),
                None)
    return JobTimes(s.get("job", summary_path.parent.name), s.get("exit_code"),
                    _seconds_between(s.get("started"), s.get("ended")), stages,
                    _cc_count(summary_path.parent, build, data))


def read_jobs(results: Path) -> list[JobTimes]:
    """Every job under a results root, in the order they started."""
    found = [(read_json(p).get("started") or "", p) for p in results.rglob("summary.json")]
    return [job_times(p) for _, p in sorted(found)]


def run_matrix(ctx: Context, kind: str, args: list[str]) -> MatrixRun:
    results = ctx.out / "maketest" / kind
    if results.exists():
        shutil.rmtree(results)
    env = Env(results, ctx.private.cache, {"KHARNESS_CCACHE_REMOTE": ""})
    c = call(ctx.runner, [sys.executable, str(REPO_ROOT / "harness.py"), *args], env,
             ctx.log(f"maketest-{kind}"), timeout=TIMEOUT)
    if kind == "cold":
        write_json(ctx.private.cache / LEFT_BY, {
            "commit": ctx.commit, "ended": dt.datetime.now(dt.timezone.utc).isoformat(
                timespec="seconds"), "minutes": round(c.wall / 60.0, 1),
            "exit_code": c.returncode})
    jobs = read_jobs(results) if results.is_dir() else []
    if c.returncode not in VERDICTS:
        states = ", ".join(f"{j.job} exit {j.exit_code}" for j in jobs) or "no job results"
        run = MatrixRun(kind, c.argv, c.wall, c.returncode, c.log, jobs)
        raise MatrixFailed(f"the {kind} `make test` ({' '.join(args)}) ended with exit "
                           f"{c.returncode} ({states}; log: {c.log})",
                           "10" if kind == "cold" else "11", _raw(run) if jobs else None)
    if not jobs:
        raise InfraError(f"the {kind} `make test` left no job results under {results} "
                         f"(log: {c.log})")
    return MatrixRun(kind, c.argv, c.wall, c.returncode, c.log, jobs)


def _cell(stage: tuple[str, float] | None) -> str:
    if stage is None:
        return "-"
    status, secs = stage
    return f"{secs:.1f} s" + ("" if status == "ok" else f" ({status})")


def breakdown(run: MatrixRun) -> str:
    """The per-job stage table (markdown), with a row of the stage totals."""
    head = ["| job | " + " | ".join(STAGES) + " | job wall | objects compiled | exit |",
            "|---|" + "---|" * (len(STAGES) + 3)]
    rows = []
    for j in run.jobs:
        wall = "-" if j.wall is None else f"{j.wall:.0f} s"
        objs = "-" if j.cc_objects is None else str(j.cc_objects)
        rows.append(f"| {j.job} | " + " | ".join(_cell(j.stages.get(s)) for s in STAGES)
                    + f" | {wall} | {objs} | {j.exit_code} |")
    totals = [sum(j.stages[s][1] for j in run.jobs if s in j.stages) for s in STAGES]
    walls = [j.wall for j in run.jobs if j.wall is not None]
    rows.append("| all jobs | " + " | ".join(f"{t:.1f} s" for t in totals)
                + f" | {sum(walls):.0f} s | "
                + f"{sum(j.cc_objects or 0 for j in run.jobs)} | {run.exit_code} |")
    return "\n".join(head + rows)


def left_by(cache: Path) -> str:
    """Which cold run left the private cache, from the record run_matrix wrote."""
    try:
        r = read_json(cache / LEFT_BY)
    except (OSError, ValueError):
        return UNRECORDED
    commit = (r.get("commit") or "?")[:12]
    return (f"the cold run of commit {commit} that ended {r.get('ended')} "
            f"({r.get('minutes')} min, exit {r.get('exit_code')})")


def _figure(fid: str, title: str, run: MatrixRun, target: Target, other: MatrixRun | None,
            earlier: str = UNRECORDED) -> Figure:
    verdicts = ("all jobs passed" if run.exit_code == 0
                else f"matrix exit {run.exit_code}: a test verdict failed")
    notes = [f"{len(run.jobs)} jobs, {verdicts}",
             f"matrix process {run.wall:.0f} s; per-job stages in the table below"]
    if fid == "10":
        notes.insert(0, COLD_HOW)
    elif other is not None:
        notes.insert(0, f"the same command right after the cold run ({other.minutes:.1f} "
                        f"min), on the cache it left")
    else:
        notes.insert(0, f"the same command on the private cache as {earlier} left it "
                        f"(--only 11: no cold run, the cache not reset)")
    return Figure(
        fid, title, samples=[run.minutes], unit="min", target=target,
        what=f"wall time of `harness.py {' '.join(run.argv[2:])}` (the Makefile's `make "
             f"test` command) as a subprocess; absolute figure (minutes on this machine), "
             f"not a ratio",
        raw=_raw(run), notes=notes)


def _raw(run: MatrixRun) -> dict:
    return {"run": run.to_dict(),
            "tables": [{"title": f"{run.kind} `make test`: per-job stages",
                        "markdown": breakdown(run)}]}


def maketest_figures(cold: MatrixRun | None, cached: MatrixRun | None,
                     earlier: str = UNRECORDED) -> list[Figure]:
    figs = [] if cold is None else [_figure("10", COLD_TITLE, cold, COLD_TARGET, None)]
    if cached is not None:
        figs.append(_figure("11", CACHED_TITLE, cached, CACHED_TARGET, cold, earlier))
    return figs


def measure_maketest(ctx: Context, cached: bool = True, cold: bool = True) -> list[Figure]:
    """Empty the private cache (tree kept), run `make test`'s command cold, then
    (when `cached`) again unchanged. Without `cold` (`--only 11`) the cached run
    alone, on the private cache as an earlier run left it: to measure a rerun
    again, or after a fix that a cold run's results showed, without 90 minutes
    of builds. A private cache with no finished build is refused: the rerun
    would be a cold run."""
    args = make_test_args()
    first = None
    if cold:
        reset_private_cache(ctx, ColdRequest())
        first = run_matrix(ctx, "cold", args)
        ctx.steps.line(f"cold `make test`: {first.minutes:.1f} min, exit {first.exit_code}")
    elif not any((ctx.private.cache / "kbuild" / "artifacts").glob("*/complete")):
        raise InputError("--only 11 reruns `make test` on the cache an earlier run left, "
                         f"and {ctx.private.cache} holds no finished build",
                         hint="run --only 10,11 (the cold run first)")
    warm = run_matrix(ctx, "cached", args) if cached else None
    if warm is not None:
        ctx.steps.line(f"cached `make test`: {warm.minutes:.1f} min, exit {warm.exit_code}")
    return maketest_figures(first, warm, left_by(ctx.private.cache))
