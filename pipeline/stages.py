"""The pipeline's stages: thin adapters from a JobContext to each stage package.

Each function takes the JobContext, calls one stage's typed entry point, leaves
its typed result in the context for later stages, and returns a StageReport for
summary.json. Inputs were loaded and checked before (pipeline.check): the stages
read the plan and never change the spec.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from common.errors import ConfigError, NotRun
from common.progress import CounterOnly, CountingRunner, Durations, LineCounter, Ticker
from common.fsutil import cache_dir, write_json

from .context import JobContext, StageReport


def stage_apply(ctx: JobContext) -> StageReport:
    from patches.apply import ApplyRequest, apply_base, apply_series
    from patches.treeimport import ImportRequest, import_tree
    spec = ctx.spec
    if spec.worktree and spec.base_only:
        return _use_worktree(ctx)
    if spec.worktree:
        res = apply_series(ApplyRequest(spec.series, spec.rev, upto=spec.upto,
                                        skip=spec.skip, onto=Path(spec.worktree)),
                           ctx.runner, hold=ctx.stack)
    else:
        tree = import_tree(ImportRequest(source=spec.tree), ctx.runner)
        ctx.facts["tree"] = {"name": tree.name, "commit": tree.commit, "kind": tree.kind}
        if spec.base_only:
            res = apply_base(spec.tree, ctx.runner, hold=ctx.stack)
        else:
            res = apply_series(ApplyRequest(spec.series, spec.rev, tree=spec.tree,
                                            upto=spec.upto, skip=spec.skip), ctx.runner,
                               hold=ctx.stack)    # the worktree is ours until the job ends
    for note in res.notes:
        ctx.progress.info(note)
    ctx.apply, ctx.worktree = res, Path(res.worktree)
    write_json(ctx.store.file("apply.json"), res.to_dict())
    ctx.facts["apply"] = {"head": res.head, "base": res.base_commit, "key": res.key,
                          "patches": [{"subject": p.subject, "sha256": p.sha256,
                                       "commit": p.commit, "status": p.status}
                                      for p in res.patches],
                          "fixups": [p.subject for p in res.fixups]}
    n = len(res.patches)
    return StageReport(f"{n} patch(es) on {res.tree}", res.reused, {"head": res.head})


def _clock(ctx: JobContext):
    import time
    return getattr(ctx.progress, "clock", time.monotonic)


def _import_with_progress(ctx: JobContext, do):
    """The tree import, with its elapsed time against the last import of the same
    source (a reused tree takes no time and records nothing)."""
    key, rec, clock = f"import:{ctx.spec.tree}", Durations(), _clock(ctx)
    t0 = clock()
    with Ticker(ctx.progress, "apply", recorded=rec.seconds(key)):
        tree = do()
    if not tree.reused:
        rec.record(key, clock() - t0)
    return tree


def _is_am(argv: list[str]) -> bool:
    return bool(argv) and argv[0] == "git" and "am" in argv[1:4]


def _apply_with_progress(ctx: JobContext, do):
    """Apply the fix-ups and patches, counting each `git am` out of what the same
    series revision applied last time (else the patches the manifest declares)."""
    spec, clock = ctx.spec, _clock(ctx)
    key = f"apply:{spec.tree}:" + "/".join(spec.job_parts()[:2])
    rec, runner = Durations(), CountingRunner(ctx.runner, _is_am)
    declared = ctx.plan.revision.patches if ctx.plan.revision is not None else None
    total = rec.count(key) or declared
    t0 = clock()
    with Ticker(ctx.progress, "apply", lambda: runner.count, total, "patches applied",
                rec.seconds(key)):
        res = do(runner)
    if runner.count:
        rec.record(key, clock() - t0, runner.count)
    return res


def _use_worktree(ctx: JobContext) -> StageReport:
    """A checkout given as it is (a `git bisect` step): nothing to apply."""
    wt = Path(ctx.spec.worktree).resolve()
    head = ctx.runner.run(["git", "-C", str(wt), "rev-parse", "HEAD"], timeout=60,
                          check=True).stdout.strip()
    ctx.worktree = wt
    ctx.facts["apply"] = {"worktree": str(wt), "head": head}
    write_json(ctx.store.file("apply.json"), {"worktree": str(wt), "head": head})
    return StageReport(f"checkout {wt} at {head[:12]}", data={"head": head})


def stage_config(ctx: JobContext) -> StageReport:
    res = _make_config(ctx, ctx.worktree, ctx.plan.fragments, ctx.store.path / "config")
    ctx.config = res
    _check_series_kconfig(ctx, res.config)
    ctx.facts["config"] = {"profile": ctx.spec.profile, "fragments": res.fragments,
                           "sha256": _sha256(res.config)}
    return StageReport(f"{len(res.checks)} symbols verified", data={"fragments": res.fragments})


def _make_config(ctx: JobContext, tree: Path, fragments: list[str], results: Path):
    from configs import ConfigRequest, make_config
    from results.store import safe
    spec = ctx.spec
    arch = ctx.plan.arch
    # The job's own scratch dir (two jobs at once must not verify each other's
    # .config); keyed by profile, toolchain, arch and the job, so a rerun reuses it.
    scratch = cache_dir() / "kconfig" / spec.tree / (
        f"{spec.profile}-{spec.toolchain}" + ("" if arch == "x86_64" else f"-{arch}")) / \
        safe("-".join(spec.job_parts()))
    return make_config(ConfigRequest(tree=tree, build_dir=scratch, results_dir=results,
                                     profile=spec.profile, fragments=fragments, arch=arch,
                                     llvm=ctx.plan.toolchain.llvm,
                                     cross=ctx.plan.toolchain.cross_vars(),
                                     allow_drop=spec.allow_drop), ctx.runner)


def _check_series_kconfig(ctx: JobContext, config: Path) -> None:
    """The manifest's `kconfig:` symbols must be y in the final .config."""
    rev = ctx.plan.revision
    if rev is None or not rev.kconfig or not ctx.spec.series_config:
        return
    from configs.merge import read_dotconfig
    values = read_dotconfig(Path(config).read_text())
    missing = [s for s in rev.kconfig if values.get(s.removeprefix("CONFIG_")) != "y"]
    if missing:
        raise ConfigError(f"{ctx.plan.series.manifest}:{rev.line}: the series needs "
                          f"{', '.join(missing)}=y, and the final .config does not have it",
                          hint="add it to the series' config fragment")


def _sha256(path: Path) -> str:
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stage_build(ctx: JobContext) -> StageReport:
    from kbuild.build import ccache_remote, redact_remote
    if ctx.spec.new_warnings and ctx.base_warnings is None:
        ctx.base_warnings = base_tree_warnings(ctx)
    res = _build(ctx, ctx.worktree, ctx.config.config, ctx.store.path / "build",
                 ctx.base_warnings, keep=True)
    ctx.build = res
    ctx.facts["build"] = {"key": res.key, "cached": res.cached, "family": res.family,
                          "artifacts": str(res.artifacts_dir)}
    ctx.facts.setdefault("ccache", {"remote": redact_remote(ccache_remote())})
    data = {"key": res.key[:16], "warnings": len(res.warnings)}
    if res.objects and not res.cached:
        data["objects"] = res.objects      # predicted (remake_count) and compiled
    if ctx.base_warnings is not None:
        data["new_warnings"] = len(res.new_warnings)
        data["new"] = [w.text() for w in res.new_warnings]
    new = f", {len(res.new_warnings)} new" if ctx.base_warnings is not None else ""
    return StageReport(f"{len(res.warnings)} warnings{new}", res.cached, data)


def _build(ctx: JobContext, tree: Path, config: Path, results: Path, base_warnings,
           keep: bool = False):
    from kbuild import BuildRequest, build_kernel
    spec, make = ctx.spec, ctx.plan.make
    req = BuildRequest(tree=tree, config=config, results_dir=results, tree_name=spec.tree,
                       config_family=spec.profile, toolchain=spec.toolchain, arch=ctx.plan.arch,
                       w1=make.w1, sparse=make.sparse, make_flags=list(make.flags),
                       targets=list(spec.targets), use_cache=not spec.rebuild,
                       base_warnings=base_warnings)
    if keep:
        ctx.build_request = req
    return build_kernel(req, ctx.runner, CounterOnly(ctx.progress))


def base_tree_warnings(ctx: JobContext) -> list:
    """The warnings of the base tree built like this job (same profile, fragments
    but the series' own, toolchain, flags and targets): built, or reused from the
    cache. Its record goes to <job>/base-build/."""
    from patches.apply import apply_base
    ctx.progress.info("[build] --new-warnings: the base tree first")
    base = apply_base(ctx.spec.tree, ctx.runner, hold=ctx.stack)
    out = ctx.store.path / "base-build"
    cfg = _make_config(ctx, Path(base.worktree), list(ctx.spec.fragments), out / "config")
    res = _build(ctx, Path(base.worktree), cfg.config, out, None)
    ctx.facts["base_build"] = {"key": res.key, "cached": res.cached,
                               "warnings": len(res.warnings)}
    return list(res.warnings)


def _need_kernel_image(ctx: JobContext) -> None:
    """A build of named targets only (`--target fs/namei.o`) makes no kernel to
    test: the stages after it are not run, which is not a failure."""
    if ctx.build is not None and ctx.build.bzimage is None:
        made = ", ".join(ctx.spec.targets) or "no kernel image"
        raise NotRun(f"NOT RUN: the build made only {made}; there is no kernel to test")


def stage_selftests_build(ctx: JobContext) -> StageReport:
    from kbuild import SelftestsRequest, build_selftests
    _need_kernel_image(ctx)
    details = _build_kselftests(ctx)
    targets = sorted({s.runner for s in ctx.suites if s.runner.startswith("test_progs")})
    ks_cached = ctx.kselftest is None or ctx.kselftest.cached
    if not targets:
        return StageReport("; ".join(details) or "no suite needs selftests built",
                           bool(details) and ks_cached)
    req = SelftestsRequest(tree=ctx.worktree, kernel_key=ctx.build.key,
                           family=ctx.build.family, targets=targets,
                           results_dir=ctx.store.path / "selftests",
                           use_cache=not ctx.spec.rebuild)
    ctx.selftests_request = req
    res = build_selftests(req, ctx.runner, CounterOnly(ctx.progress))
    ctx.selftests = res
    ctx.facts["selftests"] = {"key": res.key, "cached": res.cached,
                              "artifacts": str(res.artifacts_dir), "vmlinux_h": res.vmlinux_h}
    data = {"vmlinux_h": res.vmlinux_h} if res.vmlinux_h else {}
    return StageReport("; ".join([", ".join(targets)] + details), res.cached and ks_cached,
                       data)


def _build_kselftests(ctx: JobContext) -> list[str]:
    """Build and install the kselftest targets the kselftest suites name (against
    this worktree's headers), or take them from the build cache by key like the
    bpf selftests; --rebuild builds them again."""
    from kbuild import KselftestRequest, build_kselftest
    targets = sorted({t for s in ctx.suites for t in s.kselftest_targets})
    if not targets:
        return []
    req = KselftestRequest(tree=ctx.worktree, targets=targets,
                           out_dir=ctx.store.path / "kselftest", use_cache=not ctx.spec.rebuild)
    ctx.kselftest_request = req
    res = build_kselftest(req, ctx.runner)
    ctx.kselftest = res
    ctx.facts["kselftest"] = {"targets": targets, "key": res.key, "cached": res.cached,
                              "install": str(res.install_dir)}
    how = "cached" if res.cached else f"in {res.duration:.0f}s"
    return [f"kselftest {' '.join(targets)} {how}"]


def vm_request(ctx: JobContext):
    from selftests.run import vm_budget
    from vm.boot import VMRequest
    suites = ctx.suites
    cpus = max((s.cpus or 0) for s in suites) or 2 if suites else 2
    memory = max((s.memory for s in suites if s.memory), key=_mem_bytes, default="2G")
    append = []
    for s in suites:                 # the suites' needs first: the revision's win
        append += [a for a in s.cmdline if a not in append]
    rev = ctx.plan.revision
    append += list(rev.cmdline) if rev is not None else []
    guest = ctx.store.path / "guest"
    guest.mkdir(exist_ok=True)
    req = VMRequest(kernel=ctx.build.bzimage, rwdir=guest,
                    console_log=ctx.store.path / "console.log", accel=ctx.spec.accel,
                    cpus=cpus, memory=memory, append=append)
    req.run_timeout = vm_budget(suites, req.boot_timeout)   # the hard limit: killed after it
    return req


def _mem_bytes(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = str(text).upper().rstrip("B")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def stage_boot(ctx: JobContext) -> StageReport:
    from vm.boot import start_vm
    _need_kernel_image(ctx)
    ctx.vm_request = vm_request(ctx)
    first = []
    ctx.vm = _boot_again_after_race(ctx, first, lambda: _boot_with_progress(ctx, lambda: (
        ctx.stack.enter_context(start_vm(ctx.vm_request, ctx.runner)))))
    accel = ctx.vm.probe.accel
    ctx.facts["vm"] = {"accel": accel, "probe": getattr(ctx.vm.probe, "reason", None)}
    data = {"attempts": 1 + len(first), "first_failure": first[0]} if first else {}
    again = f", booted again after: {first[0]}" if first else ""
    return StageReport(f"accel {accel}{again}", data=data)


def _boot_again_after_race(ctx: JobContext, first: list[str], boot):
    """Boot; when the guest lost its NIC to udev's eth0 rename while its DHCP
    client set it up (vm.console.network_race: no SSH, the kernel is not at
    fault; seen once in eight bpf-min boots, whose udev is fast enough to win),
    boot the same kernel once more. The first failure stays in console.log and
    in the stage's data; any other boot failure, or a second one, stands. Each
    attempt is timed apart (`boot` is one), so only the boot that answered is
    recorded as this kernel's boot time for the next ETA."""
    from vm.boot import VMBootError
    from vm.console import NO_NET
    try:
        return boot()
    except VMBootError as e:
        if e.kind != NO_NET:
            raise
        first.append(e.detail)
        ctx.progress.info(f"[boot] {e.detail}; booting once more")
        return boot()


def _boot_with_progress(ctx: JobContext, boot):
    """Boot until SSH answers, against the last boot of the same kernel and accel."""
    accel = ctx.spec.accel or "auto"
    rec, key, clock = Durations(), f"boot:{ctx.build.key}:{accel}", _clock(ctx)
    t0 = clock()
    with Ticker(ctx.progress, "boot", recorded=rec.seconds(key)):
        vm = boot()
    rec.record(key, clock() - t0, accel=vm.probe.accel)
    return vm


def stage_test(ctx: JobContext) -> StageReport:
    from results.store import GroupTiming
    from selftests.run import SuiteRequest, run_suite
    bpf_dir = ctx.selftests.artifacts_dir if ctx.selftests is not None else None
    ks_dir = ctx.kselftest.install_dir.parent if ctx.kselftest is not None else None
    summary = []
    spec = ctx.spec
    for suite in ctx.suites:
        if ctx.vm.expired:              # killed by its run timeout: run no further suite
            break
        out = ctx.store.path / "suites" / suite.name
        st_dir = ks_dir if suite.runner == "kselftest" else bpf_dir
        with _tests_progress(ctx, suite.name, out / "raw"):
            res = run_suite(SuiteRequest(suite, out, selftests_dir=st_dir,
                                         tree_dir=ctx.worktree, tree_name=spec.tree,
                                         arch=ctx.plan.arch, toolchain=spec.toolchain), ctx.vm)
        raw = [str(Path(p).relative_to(ctx.store.path)) for p in res.raw_logs]
        ctx.store.add_suite(suite.name, res.parsed, raw=",".join(raw), groups=[
            GroupTiming(g.label, g.duration, g.reported, g.retry_of) for g in res.groups])
        summary.append(f"{suite.name}: {_counts(res.parsed)}")
    _collect_dmesg(ctx)
    ctx.vm.raise_if_expired()           # VMRunTimeout (exit 7): the stage fails and says so
    return StageReport("; ".join(summary))


@contextmanager
def _tests_progress(ctx: JobContext, suite: str, raw: Path):
    """A suite's top-level results in its raw logs as the guest streams them, out of
    what the same suite reported last time (else the TAP plans seen so far)."""
    rec, key, clock = Durations(), f"tests:{ctx.spec.tree}:{ctx.plan.arch}:{suite}", _clock(ctx)
    seen, known = LineCounter(raw), rec.count(key)
    ticker = Ticker(ctx.progress, "test", None, known, f"{suite} tests", rec.seconds(key))

    def probe() -> int:
        n = seen()
        if not known and seen.planned:
            ticker.meter.total = seen.planned
        return n
    ticker.probe = probe
    t0 = clock()
    with ticker:
        yield
    if seen() and ctx.vm is not None and not ctx.vm.expired:
        rec.record(key, clock() - t0, seen.count)


def _counts(parsed) -> str:
    c = parsed.counts()
    return " ".join(f"{k} {v}" for k, v in sorted(c.items()))


def _collect_dmesg(ctx: JobContext) -> None:
    parts = sorted((ctx.store.path / "suites").glob("*/dmesg.log"))
    text = "".join(p.read_text(errors="replace") for p in parts)
    from results.store import write_text
    write_text(ctx.store.path / "dmesg.txt", text)      # atomic: temp file + rename


STAGES = [("apply", stage_apply), ("config", stage_config), ("build", stage_build),
          ("selftests-build", stage_selftests_build), ("boot", stage_boot),
          ("test", stage_test)]
