"""Run a reproduction plan through the pipeline and judge it against the report."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from common.errors import EXIT_PASS, EXIT_TESTS_FAILED
from common.fsutil import write_json
from common.progress import Progress
from common.proc import Runner
from results.splat import find_splats
from results.store import default_root, new_run_id, write_text

from .diag import parse_diagnostics
from .match import REPRODUCED, Verdict, match_diagnostics, match_splats, runtime_verdict
from .plan import REPRO_OPTIONS, Plan, make_plan
from .report import RobotReport
from .runtime import check_collection, write_suite


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


def judge_runtime(rep: RobotReport, outcome) -> Verdict:
    """The report's splats against the job's (its tests' dmesg and the whole
    console), and its failing tests against the job's results."""
    seen = list(outcome.summary.splats)
    console = Path(outcome.path) / "console.log"
    if console.is_file():
        known = {s.fingerprint for s in seen}
        seen += [s for s in find_splats(console.read_text(errors="replace").splitlines())
                 if s.fingerprint not in known]
    here = {}
    for path, t in outcome.summary.tests():
        here.setdefault(path.split("/", 1)[-1], t.status.value)
    tests = [(name, here.get(name)) for name in rep.failing_tests]
    return runtime_verdict(match_splats(rep.splats, seen), tests)


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
    root, runner = args.results or default_root(), Runner(verbose=args.verbose)
    if plan.suite_doc is not None:
        plan = replace(plan, suites=[str(runtime_suite_file(rep, plan, root, runner))])
    progress = Progress()
    for s in plan.substitutions:
        progress.info(f"substitution: {s}")
    out = run_job(job_spec(plan, args), stages_for(plan), runner, progress, root,
                  run_id=new_run_id("repro"))
    if out.exit_code not in (EXIT_PASS, EXIT_TESTS_FAILED):
        return out.exit_code
    verdict = judge_build(rep, out) if rep.kind == "build" else judge_runtime(rep, out)
    verdict.notes += [f"substitution: {s}" for s in plan.substitutions]
    _write(out.path, rep, plan, verdict)
    print(verdict.render())
    print(f"results: {out.path}")
    return EXIT_PASS if verdict.verdict == REPRODUCED else EXIT_TESTS_FAILED


def runtime_suite_file(rep: RobotReport, plan: Plan, root: Path, runner) -> Path:
    """The plan's suite file, once its kselftest group is checked against the tree."""
    from patches.manifest import find_series
    from patches.treeimport import BASE_TAG, tree_info
    base = find_series(plan.series).revision(plan.rev).base
    tree = plan.tree or base.tree
    info = tree_info(tree)
    ref = base.ref if tree == base.tree and base.ref else BASE_TAG
    check_collection(plan.suite_doc, info.repo if info else None, ref, runner, rep.source)
    return write_suite(plan.suite_doc, root)


def _write(path: Path, rep: RobotReport, plan: Plan, verdict: Verdict) -> None:
    d = path / "repro"
    write_json(d / "report.json", rep.to_dict())
    write_json(d / "plan.json", plan.to_dict())
    write_json(d / "verdict.json", verdict.to_dict())
    write_text(d / "verdict.txt", verdict.render() + "\n")
    write_text(d / "trailers.txt", trailers(rep))
