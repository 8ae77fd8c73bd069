"""Run a reproduction plan through the pipeline and judge it against the report."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from common.errors import EXIT_PASS, EXIT_TESTS_FAILED
from common.fsutil import write_json
from common.progress import Progress
from common.proc import Runner
from results.store import default_root, new_run_id, write_text

from .diag import parse_diagnostics
from .match import NOT_REPRODUCED, PARTIAL, REPRODUCED, Verdict, match_diagnostics
from .plan import REPRO_OPTIONS, Plan, make_plan
from .report import RobotReport


def job_spec(plan: Plan, args=None):
    """The plan as a job; options given on repro's command line (the job table's
    rows in repro.cli.REPRO_OPTIONS) override it."""
    from pipeline.job import JobSpec
    spec = JobSpec(tree=plan.tree or "debian-6.12", series=plan.series, rev=plan.rev,
                   profile=plan.profile or "bpf", toolchain=plan.compiler, upto=plan.upto,
                   arch=plan.arch, suites=plan.suites, make_flags=plan.make_flags,
                   targets=plan.targets,
                   fragments=[plan.config_file] if plan.config_file else [],
                   name=f"repro-{plan.series}-{plan.rev}", series_config=plan.kind != "build")
    for name in REPRO_OPTIONS:
        given = getattr(args, name, None) if args is not None else None
        if not given or name in PLANNED:
            continue
        if name in ADDED:
            given = [*getattr(spec, name), *given]
        setattr(spec, name, list(given) if isinstance(given, list) else given)
    return spec


PLANNED = ("profile", "arch", "tree", "toolchain")   # make_plan read them (and says so)
ADDED = ("fragments", "make_flags", "allow_drop")     # added to the report's


def stages_for(plan: Plan):
    from pipeline.stages import STAGES
    if plan.kind == "build":
        return [s for s in STAGES if s[0] in ("apply", "config", "build")]
    return STAGES


def build_log(outcome) -> list[str]:
    """The kernel build's log of the job (the typed build result; none when the
    build did not run)."""
    log = Path(outcome.build.log) if outcome.build is not None else None
    return log.read_text(errors="replace").splitlines() if log and log.is_file() else []


def judge_build(rep: RobotReport, outcome) -> Verdict:
    """The report's diagnostics against the build's: what this build printed, plus
    the tree's full warning record (objects this build did not recompile)."""
    seen = parse_diagnostics(build_log(outcome))
    if outcome.build is not None:
        keys = {d.key() for d in seen}
        seen += [w for w in outcome.build.warnings if w.key() not in keys]
    wt = str(outcome.worktree) if outcome.worktree else None
    return match_diagnostics(rep.diagnostics, seen, src_root=wt)


def judge_runtime(rep: RobotReport, job) -> Verdict:
    v = Verdict(NOT_REPRODUCED)
    for want in rep.splats:
        same = [s for s in job.splats if s.fingerprint == want.fingerprint]
        alike = [s for s in job.splats if (s.kind, s.title) == (want.kind, want.title)]
        if same:
            v.notes.append(f"same splat [{want.fingerprint[:12]}] {want.kind}: {want.title}")
            v.verdict = REPRODUCED
        elif alike:
            v.notes.append(f"same headline, other frames: {want.title}")
            v.verdict = PARTIAL if v.verdict != REPRODUCED else v.verdict
        else:
            v.notes.append(f"not seen: {want.kind}: {want.title}")
    return v


def trailers(rep: RobotReport) -> str:
    lines = [f"Reported-by: {r}" for r in rep.reported_by]
    lines += [f"Closes: {c}" for c in rep.closes]
    return "\n".join(lines) + ("\n" if lines else "")


def reproduce(rep: RobotReport, args) -> int:
    from pipeline.run import run_job
    from patches.manifest import parse_spec
    plan = make_plan(rep, args)
    if args.against:
        name, rev = parse_spec(args.against)
        reported = f"{plan.series}@{plan.rev}"
        plan = replace(plan, series=name, rev=rev, upto=None, substitutions=[
            s for s in plan.substitutions if not s.startswith("the report's patch is from")])
        plan.substitutions.append(f"checking {args.against} instead of the reported "
                                  f"revision ({reported})")
    progress = Progress()
    for s in plan.substitutions:
        progress.info(f"substitution: {s}")
    out = run_job(job_spec(plan, args), stages_for(plan), Runner(verbose=args.verbose), progress,
                  args.results or default_root(), run_id=new_run_id("repro"))
    if out.exit_code not in (EXIT_PASS, EXIT_TESTS_FAILED):
        return out.exit_code
    verdict = judge_build(rep, out) if rep.kind == "build" \
        else judge_runtime(rep, out.summary)
    verdict.notes += [f"substitution: {s}" for s in plan.substitutions]
    _write(out.path, rep, plan, verdict)
    print(verdict.render())
    print(f"results: {out.path}")
    return EXIT_PASS if verdict.verdict == REPRODUCED else EXIT_TESTS_FAILED


def _write(path: Path, rep: RobotReport, plan: Plan, verdict: Verdict) -> None:
    d = path / "repro"
    write_json(d / "report.json", rep.to_dict())
    write_json(d / "plan.json", plan.to_dict())
    write_json(d / "verdict.json", verdict.to_dict())
    write_text(d / "verdict.txt", verdict.render() + "\n")
    write_text(d / "trailers.txt", trailers(rep))
