"""Measurements 1-4, on real jobs driven through the harness CLI:

1. overhead: `harness.py run` of a warm job against its own reproduce.sh;
2. cached rerun against the cold run of the same job;
3. a second series in the same build family after the first's cold build, in two
   figures: 3a a series that edits no widely included header (build stage / the
   cold build, target <= 0.25), 3b a series that does (build stage / the time the
   harness's own remake count predicts, target <= 1.15);
4. the revision switch path-iterator v2-6.12 -> v5-6.12 against the clean build.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from common.errors import HarnessError, InfraError

from .buildlog import Recompile, compiled_objects, rangediff_files
from .coldcache import ccache_stats, stats_delta
from .context import TREE, Context, job_args
from .driver import JobRun, harness, run_job, run_reproducer
from .stats import Figure, Target, failed, ratio

SERIES_A = "path-iterator@v2-6.12"
SERIES_B = "iter-pagecache@v2-6.12"
SERIES_V5 = "path-iterator@v5-6.12"
SERIES_SMALL = "kharness-fixture@v3"
SMALL_TITLE = "second series, no widely included header edited"
HEADER_TITLE = "second series editing a widely included header, against its predicted time"
SMALL_TARGET = Target("<=", 0.25)
HEADER_TARGET = Target("<=", 1.15)
# The harness's build counter off a TTY (every 30 s): `[build] DONE/EXPECTED objects`,
# EXPECTED being kbuild.progress_watch.remake_count of the build dir before make.
COUNTER_RE = re.compile(r"^\[build\] (\d+)/(\d+) objects", re.M)
OVERHEAD = "overhead: reproduce.sh against harness.py run (warm)"
COLD = ("cold: the bench's private HARNESS_CACHE (worktrees, config scratch, build "
        "dirs, finished builds, ccache) removed and the tree re-cloned before this run; "
        "the kernel sources in the OS page cache were not dropped")


@dataclass
class ColdRun:
    """The first (cold) job of series A and what ccache did during it."""

    run: JobRun
    ccache: dict = field(default_factory=dict)

    @property
    def build(self) -> float:
        return build_seconds(self.run)


def build_seconds(run: JobRun) -> float:
    st = run.stage("build")
    if st is None:
        raise InfraError(f"job {run.path} has no build stage")
    return float(st.get("duration", 0.0))


def run_counted(ctx: Context, args: list[str], name: str) -> tuple[JobRun, dict]:
    """A job in the private cache, with the ccache counters it moved."""
    before = ccache_stats(ctx)
    run = ctx.keep(run_job(ctx.runner, args, ctx.private, ctx.log(name)))
    return run, stats_delta(before, ccache_stats(ctx))


def cold_run(ctx: Context) -> ColdRun:
    run, delta = run_counted(ctx, job_args(SERIES_A), "cold-A")
    if run.stage_statuses().get("build") != "ok":
        raise InfraError(f"the cold run's build was not a real build: {run.stage('build')}")
    return ColdRun(run, delta)


def small_series(ctx: Context, cold: ColdRun) -> Figure:
    """3a: kharness-fixture@v3 right after the cold build of path-iterator@v2-6.12,
    same tree (debian-6.12 at v6.12.117), bench profile, .config and build family.

    Why this series: of the shipped series on this base, only the fixture's patches
    edit no header at all. v3's four patches touch a selftest script
    (tools/testing/selftests/kharness/kernel_facts.sh, not part of the kernel
    build), the top Makefile's EXTRAVERSION (a new include/generated/utsrelease.h,
    which few objects include) and two C files, kernel/time/timeconv.c and
    kernel/time/time.c: the most kernel code of the fixture's revisions (v1 edits
    no C file, v4/v5 only arm64 code, v6-v8 one C file). Coming after path-iterator,
    the build also takes back that series' changes (include/linux/namei.h,
    fs/namei.c, kernel/bpf/path_iter.c, security/landlock/fs.c), since the family's
    build dir follows the last build: the files make sees changed are recorded
    (`git diff` of the two applied heads) with the objects compiled."""
    run, delta = run_counted(ctx, job_args(SERIES_SMALL), "series-small")
    rec = Recompile(compiled_objects(_log_lines(run)), _changed_files(ctx, cold.run, run),
                    [], delta)
    secs = build_seconds(run)
    return Figure(
        "3a", SMALL_TITLE, samples=[ratio(secs, cold.build)], target=SMALL_TARGET,
        what=f"build stage of {SERIES_SMALL} right after {SERIES_A} / cold build stage of "
             f"{SERIES_A} (profile bench, same .config, same build family)",
        raw={"a_build_s": cold.build, "small_build_s": secs, "a_ccache": cold.ccache,
             "recompile": rec.to_dict(), "a_job": str(cold.run.path),
             "small_job": str(run.path),
             "small_build_status": run.stage_statuses().get("build")},
        notes=[COLD + f" (for {SERIES_A})", f"{SERIES_SMALL}: " + rec.summary()])


def predicted_remakes(output: str, build_stage: dict | None = None) -> tuple[int, str]:
    """The objects the harness expected make to compile, and where the count came
    from. The build stage's data has it (`objects.predicted`, kbuild's remake_count
    before make) since the build result records it; otherwise (a summary written
    before that) the first build counter line the harness printed (`[build]
    52/1040 objects, ETA 7m`: 1040), which shows max(expected, done), so it is the
    prediction unless make had already passed it."""
    recorded = ((build_stage or {}).get("data") or {}).get("objects") or {}
    if recorded.get("predicted") is not None:
        return int(recorded["predicted"]), "summary.json: build stage objects.predicted"
    m = COUNTER_RE.search(output)
    if m is None:
        raise InfraError("the harness printed no build counter line (`[build] N/M "
                         "objects`): it prints one every 30 s off a TTY, so the build was "
                         "shorter than that or had no remake count")
    return int(m.group(2)), m.group(0)


def header_series(ctx: Context, cold: ColdRun) -> Figure:
    """3b: iter-pagecache@v2-6.12 (it edits include/linux/bpf.h, which about half
    the bench profile's objects include, and include/linux/mnt_namespace.h) after
    the series built before it in the same family: path-iterator@v2-6.12's cold
    build, then kharness-fixture@v3 when 3a ran (run_bench runs 3a first, since
    after bpf.h every includer would be compiled again for 3a too). Its build stage
    over the time the harness predicts: its own count of the objects make will
    compile again (kbuild.progress_watch.remake_count of the build dir, recorded in
    the build stage's data; older summaries: the build counter's printed total)
    times the cold build's seconds per object (the cold build stage of
    path-iterator@v2-6.12 over its CC lines). The prediction follows the build
    dir, so the series before does not change what the figure means. Above 1 the
    build costs more than its compiles explain; ccache hits take it below."""
    b, delta = run_counted(ctx, job_args(SERIES_B), "series-B")
    predicted, line = predicted_remakes(b.call.output, b.stage("build"))
    a_objs = len(compiled_objects(_log_lines(cold.run)))
    per_object = ratio(cold.build, a_objs)
    objs = compiled_objects(_log_lines(b))
    secs = build_seconds(b)
    return Figure(
        "3b", HEADER_TITLE, samples=[ratio(secs, predicted * per_object)],
        target=HEADER_TARGET,
        what=f"build stage of {SERIES_B} / (objects the harness counted for make to "
             f"compile again x seconds per object of the cold build of {SERIES_A})",
        raw={"a_build_s": cold.build, "a_cc_objects": a_objs, "per_object_s": per_object,
             "predicted_objects": predicted, "predicted_s": predicted * per_object,
             "counter_line": line, "b_build_s": secs, "b_cc_objects": len(objs),
             "a_ccache": cold.ccache, "b_ccache": delta, "a_job": str(cold.run.path),
             "b_job": str(b.path), "b_build_status": b.stage_statuses().get("build")},
        notes=[COLD + f" (for {SERIES_A})",
               f"predicted {predicted} objects x {per_object:.3f} s = "
               f"{predicted * per_object:.0f} s; built in {secs:.0f} s",
               f"B: {len(objs)} objects compiled by make (CC lines), "
               f"{delta.get('cache_miss', '?')} ccache misses, "
               f"{delta.get('direct_cache_hit', 0) + delta.get('preprocessed_cache_hit', 0)}"
               f" ccache hits; A: {a_objs} objects, "
               f"{cold.ccache.get('cache_miss', '?')} ccache misses"])


def _log_lines(run: JobRun) -> list[str]:
    path = run.path / "build" / "build.log"
    try:
        return path.read_text(errors="replace").splitlines()
    except OSError as e:
        raise InfraError(f"cannot read the build log {path}: {e.strerror}") from e


def reruns(ctx: Context, cold: JobRun | None, rerun: bool, overhead: bool
           ) -> list[Figure]:
    """`repeat` rounds of `harness.py run` of job A, each paired (order alternating)
    with the job from the cold run's reproduce.sh when `overhead`."""
    runs, repros = [], []
    repro_error = None
    first = cold or ctx.keep(run_job(ctx.runner, job_args(SERIES_A), ctx.private,
                                     ctx.log("warm-up-A")))
    for i in range(ctx.repeat):
        order = ("run", "repro") if i % 2 == 0 else ("repro", "run")
        for kind in order:
            if kind == "run":
                runs.append(ctx.keep(run_job(ctx.runner, job_args(SERIES_A), ctx.private,
                                             ctx.log(f"rerun-A-{i + 1}"))))
            elif overhead and repro_error is None:
                try:
                    repros.append(ctx.keep(run_reproducer(
                        ctx.runner, first, ctx.private, ctx.log(f"reproduce-A-{i + 1}"))))
                except HarnessError as e:     # figure 1 fails; the reruns go on
                    repro_error = str(e).splitlines()[0]
    figs = []
    if overhead:
        figs.append(failed("1", OVERHEAD, repro_error, Target("<=", 1.03)) if repro_error
                    else _overhead(runs, repros, first))
    if rerun and cold is not None:
        figs.append(_rerun(runs, cold))
    return figs


def _overhead(runs: list[JobRun], repros: list[JobRun], first: JobRun) -> Figure:
    samples = [ratio(p.wall, r.wall) for r, p in zip(runs, repros)]
    return Figure(
        "1", OVERHEAD, samples=samples,
        target=Target("<=", 1.03),
        what=f"wall time of {first.path.name}'s reproduce.sh / wall time of the same "
             f"`harness.py run {SERIES_A}` (warm caches, pairs in alternating order)",
        raw={"run_s": [r.wall for r in runs], "reproduce_s": [p.wall for p in repros],
             "reproduce_sh": str(first.path / "reproduce.sh")},
        notes=["reproduce.sh (default mode) execs the same `harness.py run` command line; "
               "`--by-hand` replays raw commands and cannot run unattended (its vng line "
               "boots a VM that waits for SSH commands)",
               "reproduce.sh runs with the venv's bin dir first in PATH (an activated "
               "venv): its `./harness.py` resolves `python3` through PATH"])


def _rerun(runs: list[JobRun], cold: JobRun) -> Figure:
    statuses = runs[-1].stage_statuses() if runs else {}
    durations = {s["name"]: s.get("duration") for s in runs[-1].stages()} if runs else {}
    ran = [n for n, s in statuses.items() if s == "ok"]
    reused = [n for n, s in statuses.items() if s == "cached"]
    return Figure(
        "2", "cached rerun against the cold run", samples=[ratio(r.wall, cold.wall)
                                                            for r in runs],
        what=f"wall time of `harness.py run {SERIES_A}` rerun unchanged / wall time of its "
             f"cold run",
        raw={"cold_s": cold.wall, "rerun_s": [r.wall for r in runs],
             "cold_stages": {s["name"]: [s["status"], s.get("duration")]
                             for s in cold.stages()},
             "rerun_stages": {n: [statuses[n], durations.get(n)] for n in statuses}},
        notes=[COLD, f"stages that ran again: {', '.join(ran) or 'none'}; "
                     f"reused (cached): {', '.join(reused) or 'none'}"])


def revision_switch(ctx: Context, cold: ColdRun) -> Figure:
    v5, delta = run_counted(ctx, job_args(SERIES_V5), "switch-v5")
    rec = Recompile(compiled_objects(_log_lines(v5)), _changed_files(ctx, cold.run, v5),
                    _rangediff(ctx), delta)
    secs = build_seconds(v5)
    notes = [f"clean build = the cold build of {SERIES_A} in this run (" + COLD + ")",
             rec.summary()]
    if rec.stale:
        notes.append("changed C files with no CC line (not in this config, or a stale "
                     "build): " + ", ".join(rec.stale))
    return Figure(
        "4", "revision switch path-iterator v2-6.12 -> v5-6.12",
        samples=[ratio(secs, cold.build)],
        what=f"build stage of {SERIES_V5} right after {SERIES_A} / clean build stage of "
             f"{SERIES_A}",
        raw={"clean_build_s": cold.build, "switch_build_s": secs,
             "switch_build_status": v5.stage_statuses().get("build"),
             "recompile": rec.to_dict(), "v5_job": str(v5.path)},
        notes=notes)


def _head(run: JobRun) -> str:
    st = run.stage("apply") or {}
    head = (st.get("data") or {}).get("head")
    if not head:
        raise InfraError(f"job {run.path} recorded no applied head")
    return head


def _changed_files(ctx: Context, old: JobRun, new: JobRun) -> list[str]:
    """Files added or modified from old to new (a deleted file builds no object)."""
    repo = ctx.private.cache / "trees" / TREE
    res = ctx.runner.run(["git", "--git-dir", str(repo), "diff", "--name-only",
                          "--diff-filter=d", _head(old), _head(new)], timeout=300)
    if res.returncode != 0:
        raise InfraError(f"git diff between the revisions failed: {res.stderr.strip()}")
    return [ln for ln in res.stdout.splitlines() if ln.strip()]


def _rangediff(ctx: Context) -> list[str]:
    name, old = SERIES_A.split("@")
    new = SERIES_V5.split("@")[1]
    c = harness(ctx.runner, ["diff", name, old, new, "--tree", TREE], ctx.private,
                ctx.log("rangediff"))
    if c.returncode != 0:
        raise InfraError(f"harness.py diff failed (log: {c.log})")
    return rangediff_files(c.output)
