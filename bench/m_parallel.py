"""Measurement 6: the smoke suite on one VM with 2 vCPUs, test_progs -j 2 against
serial; and split over 2 VMs with 1 vCPU each (when memory allows).

It needs the bpf-profile kernel and test_progs, which take ~40 minutes to build on
2 cores. It uses the user's own cache (the baseline `make test` builds) and never
starts those builds: without finished builds of the base tree on the bpf profile it
is SKIPPED, and a job whose build or selftests-build stage runs longer than a cache
lookup takes is stopped and the figure SKIPPED."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from common.errors import InfraError
from common.fsutil import REPO_ROOT, cache_dir, read_json, write_json
from common.proc import kill_group

from .context import TREE, Context
from .driver import HARNESS, Call, Env, JobRun, load_run, require_ok
from .stats import Figure, ratio, skipped

PROFILE = "bpf"
SMOKE = REPO_ROOT / "selftests" / "suites" / "smoke.yaml"
BUILD_STAGES = ("build", "selftests-build")
BUILD_PATIENCE = 300.0          # seconds a cached build stage may take at most
JOB_RE = re.compile(r"^job \S+ -> (\S.*)$", re.M)
VM_MEMORY_GIB = 2


@dataclass
class Cached:
    kernel: Path | None
    selftests: Path | None

    def missing(self) -> str:
        what = [n for n, p in (("kernel", self.kernel), ("test_progs", self.selftests))
                if p is None]
        return " and ".join(what)


def find_cached(cache: Path, tree: str = TREE, profile: str = PROFILE) -> Cached:
    """Finished builds of family <tree>-<profile>-gcc in the cache (kernel, selftests)."""
    family = f"{tree}-{profile}-gcc"
    kernel = selftests = None
    root = cache / "kbuild" / "artifacts"
    for d in sorted(root.glob("*/complete")) if root.is_dir() else []:
        try:
            meta = read_json(d)
        except (OSError, ValueError):
            continue
        if meta.get("family") != family:
            continue
        if "targets" in meta and "test_progs" in meta.get("targets", []):
            selftests = d.parent
        elif "targets" not in meta and (d.parent / "bzImage").is_file():
            kernel = d.parent
    return Cached(kernel, selftests)


def suite_variants(out: Path, source: Path = SMOKE) -> dict[str, Path]:
    """smoke as one test_progs invocation, serial and -j 2 (2 vCPUs), and split in
    two halves for 1-vCPU VMs."""
    doc = yaml.safe_load(source.read_text())
    allow = list(doc.get("allow") or [])
    if not allow:
        raise InfraError(f"{source} has no allow list to split")
    half = (len(allow) + 1) // 2
    variants = {
        "smoke-serial": {"batch": len(allow), "parallel": 1, "vm": {"cpus": 2}},
        "smoke-j2": {"batch": len(allow), "parallel": 2, "vm": {"cpus": 2}},
        "smoke-half1": {"allow": allow[:half], "batch": half, "vm": {"cpus": 1}},
        "smoke-half2": {"allow": allow[half:], "batch": len(allow) - half,
                        "vm": {"cpus": 1}},
    }
    paths = {}
    for name, change in variants.items():
        d = dict(doc)
        d["name"] = name
        vm = dict(d.get("vm") or {})
        vm.update(change.pop("vm"))
        d.update(change, vm=vm)
        path = out / "suites" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(d, sort_keys=False))
        paths[name] = path
    return paths


def mem_available_gib(meminfo: str) -> float:
    m = re.search(r"^MemAvailable:\s+(\d+) kB", meminfo, re.M)
    return int(m.group(1)) / (1 << 20) if m else 0.0


class BuildNotCached(InfraError):
    """A job started a real build where the bench expected a cache hit."""


def watched(ctx: Context, argv: list[str], env: Env, log: Path,
            timeout: float = 3600) -> Call:
    """Run a harness command, stopping it when a build stage runs past BUILD_PATIENCE."""
    t = time.monotonic()
    with open(log, "wb") as f:
        proc = ctx.runner.popen(argv, cwd=REPO_ROOT, env=env.vars(), stdout=f)
        try:
            while proc.poll() is None:
                time.sleep(5)
                if time.monotonic() - t > timeout:
                    raise InfraError(f"{' '.join(argv[2:5])} ran past {timeout:.0f}s")
                stage = _long_build(log, time.monotonic() - t)
                if stage:
                    raise BuildNotCached(f"its {stage} stage was still running after "
                                         f"{BUILD_PATIENCE:.0f}s: not a cache hit")
        finally:
            kill_group(proc)
    return Call([str(a) for a in argv], proc.returncode, time.monotonic() - t,
                log.read_text(errors="replace"), log)


def _long_build(log: Path, elapsed: float) -> str | None:
    if elapsed < BUILD_PATIENCE:
        return None
    for job in JOB_RE.findall(log.read_text(errors="replace")):
        try:
            stages = read_json(Path(job.strip()) / "summary.json").get("stages", [])
        except (OSError, ValueError):
            continue
        for s in stages:
            if s.get("name") in BUILD_STAGES and s.get("status") == "running":
                return s["name"]
    return None


def _job(ctx: Context, suites: list[Path], name: str) -> JobRun:
    argv = [str(HARNESS), "run", "--base-only", "--tree", TREE, "--profile", PROFILE]
    for s in suites:
        argv += ["--suite", str(s)]
    import sys
    run = load_run(watched(ctx, [sys.executable, *argv], ctx.user, ctx.log(name)))
    require_ok(run)
    return ctx.keep(run)


def _matrix(ctx: Context, halves: list[Path]) -> Call:
    import sys
    path = ctx.out / "suites" / "two-vms.yaml"
    write_json(path, {"defaults": {"tree": TREE, "profile": PROFILE, "toolchain": "gcc"},
                      "jobs": [{"name": p.stem, "base": True, "suites": [str(p)]}
                               for p in halves]})
    argv = [sys.executable, str(HARNESS), "matrix", str(path), "--jobs", "2"]
    c = watched(ctx, argv, ctx.user, ctx.log("smoke-two-vms"))
    if c.returncode not in (0, 1):
        raise InfraError(f"the 2-VM matrix failed with exit {c.returncode} (log: {c.log})")
    return c


def _test_seconds(run: JobRun) -> float:
    st = run.stage("test") or {}
    return float(st.get("duration", 0.0))


def measure_parallel(ctx: Context) -> list[Figure]:
    title = "tests in parallel: smoke, test_progs -j 2 on 2 vCPUs"
    title2 = "tests in parallel: smoke on 2 VMs x 1 vCPU"
    cached = find_cached(cache_dir())
    if cached.kernel is None or cached.selftests is None:
        why = (f"no finished {TREE} {PROFILE}-profile build of the {cached.missing()} in "
               f"{cache_dir()} (run `make test` first; the bench does not start a "
               f"~40-minute build)")
        return [skipped("6a", title, why), skipped("6b", title2, why)]
    suites = suite_variants(ctx.out)
    try:
        serial = _job(ctx, [suites["smoke-serial"]], "smoke-serial")
        par = _job(ctx, [suites["smoke-j2"]], "smoke-j2")
    except BuildNotCached as e:
        why = f"the bpf-profile build was not a cache hit ({e})"
        return [skipped("6a", title, why), skipped("6b", title2, why)]
    fig = Figure("6a", title, samples=[ratio(_test_seconds(par), _test_seconds(serial))],
                 what="test stage of smoke with test_progs -j 2 / test stage of smoke serial "
                      "(both: one VM, 2 vCPUs, all 12 tests in one test_progs invocation)",
                 raw={"serial_test_s": _test_seconds(serial), "j2_test_s": _test_seconds(par),
                      "serial_wall_s": serial.wall, "j2_wall_s": par.wall,
                      "serial_counts": serial.summary.get("counts"),
                      "j2_counts": par.summary.get("counts")})
    avail = mem_available_gib(Path("/proc/meminfo").read_text())
    if avail < 2 * VM_MEMORY_GIB + 2:
        return [fig, skipped("6b", title2, f"{avail:.1f} GiB available; 2 VMs need "
                                           f"{2 * VM_MEMORY_GIB} GiB plus 2 GiB spare")]
    two = _matrix(ctx, [suites["smoke-half1"], suites["smoke-half2"]])
    fig2 = Figure("6b", title2, samples=[ratio(two.wall, serial.wall)],
                  what="wall time of a 2-job matrix (--jobs 2), half of smoke each on a "
                       "1-vCPU VM / wall time of the serial smoke job (one 2-vCPU VM)",
                  raw={"two_vms_wall_s": two.wall, "serial_wall_s": serial.wall,
                       "matrix_exit": two.returncode})
    return [fig, fig2]
