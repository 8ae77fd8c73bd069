"""The pipeline's stages: thin adapters from a JobContext to each stage package.

Each function takes the JobContext, calls one stage's typed entry point, leaves
what later stages need in the context, and returns the facts for summary.json.
"""
from __future__ import annotations

from pathlib import Path

from common.errors import NotRun
from common.progress import CounterOnly
from common.fsutil import cache_dir, write_json

from .job import JobContext

TOOLCHAIN_LLVM = {"gcc": None, "llvm": "1", "llvm-19": "-19"}
DEFAULT_SUITE = "smoke"


def latest_revision(series) -> str:
    """The newest revision that has patches on disk."""
    from patches.source import revision_status
    for rev in reversed(series.revisions):
        if revision_status(series, rev).state == "present":
            return rev.label
    raise NotRun(f"NOT RUN: series {series.name} has no revision with patches yet")


def check_present(series, label: str) -> None:
    """A revision without patches on disk is not run, and says why."""
    from patches.source import revision_status
    st = revision_status(series, series.revision(label))
    if st.state != "present":
        tree = series.revision(label).base.tree
        raise NotRun(f"NOT RUN: no patches for {tree} yet ({series.name}@{label}: {st.text()})")


def stage_apply(ctx: JobContext) -> dict:
    from patches.apply import ApplyRequest, apply_base, apply_series
    from patches.manifest import find_series
    from patches.treeimport import ImportRequest, import_tree
    spec = ctx.spec
    if spec.worktree:
        return _use_worktree(ctx)
    tree = import_tree(ImportRequest(source=spec.tree), ctx.runner)
    ctx.facts["tree"] = {"name": tree.name, "commit": tree.commit, "kind": tree.kind}
    if spec.base_only:
        res = apply_base(spec.tree, ctx.runner)
    else:
        series = find_series(spec.series)
        spec.rev = spec.rev or latest_revision(series)
        check_present(series, spec.rev)
        ctx.revision = series.revision(spec.rev)
        res = apply_series(ApplyRequest(spec.series, spec.rev, tree=spec.tree, upto=spec.upto),
                           ctx.runner)
    ctx.apply, ctx.worktree = res, Path(res.worktree)
    write_json(ctx.store.file("apply.json"), res.to_dict())
    ctx.facts["apply"] = {"head": res.head, "base": res.base_commit, "key": res.key,
                          "patches": [{"subject": p.subject, "sha256": p.sha256,
                                       "commit": p.commit, "status": p.status}
                                      for p in res.patches],
                          "fixups": [p.subject for p in res.fixups]}
    n = len(res.patches)
    return {"cached": res.reused, "detail": f"{n} patch(es) on {res.tree}",
            "head": res.head}


def _use_worktree(ctx: JobContext) -> dict:
    """A checkout given as it is (a `git bisect` step): nothing to apply."""
    wt = Path(ctx.spec.worktree).resolve()
    head = ctx.runner.run(["git", "-C", str(wt), "rev-parse", "HEAD"], timeout=60,
                          check=True).stdout.strip()
    ctx.worktree = wt
    ctx.facts["apply"] = {"worktree": str(wt), "head": head}
    write_json(ctx.store.file("apply.json"), {"worktree": str(wt), "head": head})
    return {"detail": f"checkout {wt} at {head[:12]}", "head": head}


def _fragments(ctx: JobContext) -> list[str]:
    own = ctx.revision is not None and ctx.spec.series_config
    frags = list(ctx.revision.fragments) if own else []
    return frags + [f for f in ctx.spec.fragments if f not in frags]


def stage_config(ctx: JobContext) -> dict:
    from configs import ConfigRequest, make_config
    spec = ctx.spec
    scratch = cache_dir() / "kconfig" / spec.tree / f"{spec.profile}-{spec.toolchain}"
    res = make_config(ConfigRequest(tree=ctx.worktree, build_dir=scratch,
                                    results_dir=ctx.store.path / "config",
                                    profile=spec.profile, fragments=_fragments(ctx),
                                    llvm=TOOLCHAIN_LLVM.get(spec.toolchain),
                                    allow_drop=spec.allow_drop), ctx.runner)
    ctx.config = res
    ctx.facts["config"] = {"profile": spec.profile, "fragments": res.fragments,
                           "sha256": _sha256(res.config)}
    return {"detail": f"{len(res.checks)} symbols verified", "fragments": res.fragments}


def _sha256(path: Path) -> str:
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def stage_build(ctx: JobContext) -> dict:
    from kbuild import BuildRequest, build_kernel
    spec = ctx.spec
    flags = set(spec.make_flags)
    res = build_kernel(BuildRequest(tree=ctx.worktree, config=ctx.config.config,
                                    results_dir=ctx.store.path / "build", tree_name=spec.tree,
                                    config_family=spec.profile, toolchain=spec.toolchain,
                                    w1="W=1" in flags, sparse="C=1" in flags,
                                    targets=list(spec.targets), use_cache=not spec.rebuild),
                       ctx.runner, CounterOnly(ctx.progress))
    ctx.build = res
    ctx.facts["build"] = {"key": res.key, "cached": res.cached, "family": res.family,
                          "artifacts": str(res.artifacts_dir)}
    return {"cached": res.cached, "key": res.key[:16],
            "detail": f"{len(res.warnings)} warnings, {len(res.new_warnings)} new",
            "warnings": len(res.warnings), "new_warnings": len(res.new_warnings)}


def load_suites(ctx: JobContext) -> list:
    from selftests.suite import load_suite
    names = list(ctx.spec.suites)
    if not names:
        names = [ctx.spec.series] if ctx.spec.series else []
        names.append(DEFAULT_SUITE)
    return [load_suite(n) for n in names]


def _need_kernel_image(ctx: JobContext) -> None:
    """A build of named targets only (`--target fs/namei.o`) makes no kernel to
    test: the stages after it are not run, which is not a failure."""
    if ctx.build is not None and ctx.build.bzimage is None:
        made = ", ".join(ctx.spec.targets) or "no kernel image"
        raise NotRun(f"NOT RUN: the build made only {made}; there is no kernel to test")


def stage_selftests_build(ctx: JobContext) -> dict:
    from kbuild import SelftestsRequest, build_selftests
    _need_kernel_image(ctx)
    ctx.suite = load_suites(ctx)
    details = _build_kselftests(ctx)
    targets = sorted({s.runner for s in ctx.suite if s.runner.startswith("test_progs")})
    if not targets:
        return {"detail": "; ".join(details) or "no suite needs selftests built"}
    res = build_selftests(SelftestsRequest(tree=ctx.worktree, kernel_key=ctx.build.key,
                                           family=ctx.build.family, targets=targets,
                                           results_dir=ctx.store.path / "selftests",
                                           use_cache=not ctx.spec.rebuild),
                          ctx.runner, CounterOnly(ctx.progress))
    ctx.selftests = res
    ctx.facts["selftests"] = {"key": res.key, "cached": res.cached,
                              "artifacts": str(res.artifacts_dir)}
    return {"cached": res.cached, "detail": "; ".join([", ".join(targets)] + details)}


def _build_kselftests(ctx: JobContext) -> list[str]:
    """Build and install the kselftest targets the kselftest suites name, into the
    results dir (they are small and built against this worktree's headers)."""
    from kbuild import KselftestRequest, build_kselftest
    targets = sorted({t for s in ctx.suite for t in s.kselftest_targets})
    if not targets:
        return []
    res = build_kselftest(KselftestRequest(tree=ctx.worktree, targets=targets,
                                           out_dir=ctx.store.path / "kselftest"), ctx.runner)
    ctx.kselftest = res
    ctx.facts["kselftest"] = {"targets": targets, "install": str(res.install_dir)}
    return [f"kselftest {' '.join(targets)} in {res.duration:.0f}s"]


def _vm_request(ctx: JobContext):
    from vm.boot import VMRequest
    cpus = max((s.cpus or 0) for s in ctx.suite) or 2
    memory = max((s.memory for s in ctx.suite if s.memory), key=_mem_bytes, default="2G")
    append = []
    for s in ctx.suite:                 # the suites' needs first: the revision's win
        append += [a for a in s.cmdline if a not in append]
    append += list(ctx.revision.cmdline) if ctx.revision is not None else []
    guest = ctx.store.path / "guest"
    guest.mkdir(exist_ok=True)
    return VMRequest(kernel=ctx.build.bzimage, rwdir=guest,
                     console_log=ctx.store.path / "console.log", accel=ctx.spec.accel,
                     cpus=cpus, memory=memory, append=append)


def _mem_bytes(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = str(text).upper().rstrip("B")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def stage_boot(ctx: JobContext) -> dict:
    from vm.boot import start_vm
    _need_kernel_image(ctx)
    if ctx.suite is None:
        ctx.suite = load_suites(ctx)
    vm = ctx.facts["stack"].enter_context(start_vm(_vm_request(ctx), ctx.runner))
    ctx.facts["vm_handle"] = vm
    ctx.facts["vm"] = {"accel": vm.accel, "probe": getattr(vm.probe, "reason", None)}
    return {"detail": f"accel {vm.accel}"}


def stage_test(ctx: JobContext) -> dict:
    from selftests.run import SuiteRequest, run_suite
    vm = ctx.facts["vm_handle"]
    bpf_dir = ctx.selftests.artifacts_dir if ctx.selftests is not None else None
    ks_dir = ctx.kselftest.install_dir.parent if ctx.kselftest is not None else None
    summary = []
    for suite in ctx.suite:
        out = ctx.store.path / "suites" / suite.name
        st_dir = ks_dir if suite.runner == "kselftest" else bpf_dir
        res = run_suite(SuiteRequest(suite, out, selftests_dir=st_dir, tree_dir=ctx.worktree),
                        vm)
        raw = [str(Path(p).relative_to(ctx.store.path)) for p in res.raw_logs]
        ctx.store.add_suite(suite.name, res.parsed, raw=",".join(raw))
        summary.append(f"{suite.name}: {_counts(res.parsed)}")
    _collect_dmesg(ctx)
    return {"detail": "; ".join(summary)}


def _counts(parsed) -> str:
    c = parsed.counts()
    return " ".join(f"{k} {v}" for k, v in sorted(c.items()))


def _collect_dmesg(ctx: JobContext) -> None:
    parts = sorted((ctx.store.path / "suites").glob("*/dmesg.log"))
    text = "".join(p.read_text(errors="replace") for p in parts)
    (ctx.store.path / "dmesg.txt").write_text(text)


STAGES = [("apply", stage_apply), ("config", stage_config), ("build", stage_build),
          ("selftests-build", stage_selftests_build), ("boot", stage_boot),
          ("test", stage_test)]
