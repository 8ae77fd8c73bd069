"""What a runtime robot report's job runs: its testcase as a suite, on a VM shaped
like the report's test machine.

The report's testcase maps to one suite, written as a suite file for the job:
`boot` boots and runs the shell-only tap-smoke check (the splat is looked for in
the console); `kernel-selftests` with a group runs that kselftest collection (only
its failing tests when the report names them); `kernel-selftests-bpf`, `bpf` and
group `bpf` run test_progs with only the named tests. The report's kernel command
line (what is not the robot's own or the VM's own), its CPUs and memory, capped
to this host, go into the suite's `cmdline` and `vm:`, which is how every suite
asks for its VM (pipeline.stages.vm_request). Every substitution is stated.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InputError
from results.store import write_text

from .report import RobotReport

BOOT_SUITE = "tap-smoke"          # boots the smallest kernel, needs only a shell
TEST_PROGS = ("bpf", "test_progs")
# kernel parameters the VM sets itself (virtme-ng's root, console and init)
VM_OWN = {"root", "rootfstype", "rootflags", "rootwait", "rw", "ro", "console", "earlyprintk",
          "earlycon", "init", "rdinit", "ip", "initrd", "nfsroot", "load_ramdisk",
          "prompt_ramdisk", "ramdisk_size", "vga", "panic", "BOOT_IMAGE"}
# the lkp harness's own words: its job's variables, read by its init, not the kernel
LKP_OWN = {"branch", "job", "user", "kconfig", "commit", "max_uptime", "vmlinuz",
           "RESULT_ROOT", "LKP_SERVER", "LKP_LOCAL_RUN", "ARCH"}
HEADLINE = re.compile(r"^kernel-selftests(?:-bpf)?\.(?P<group>[^.]+)\.(?P<test>.+)\.fail$")


@dataclass
class RuntimeJob:
    """The suite a runtime report's job runs (`doc`: the suite file's content), and
    the substitutions made to get it."""
    testcase: str
    runner: str                      # command (boot), kselftest or test_progs
    doc: dict
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.doc["name"]


def host_limits() -> tuple[int, int]:
    """(CPUs, memory in bytes) of this host."""
    mem = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem = int(line.split()[1]) * 1024
    return os.cpu_count() or 1, mem


def runtime_job(rep: RobotReport, series_suite: str | None = None) -> RuntimeJob:
    """The report's testcase as a suite; an unknown testcase or group is an
    InputError naming it (before anything is built)."""
    tc = (rep.testcase or "").strip()
    if not tc:
        raise InputError("the runtime report names no testcase ('in testcase:' line)",
                         path=rep.source)
    if tc == "boot":
        job = _boot()
    elif tc in TEST_PROGS or tc == "kernel-selftests-bpf" or _group(rep, tc) == "bpf":
        job = _test_progs(rep, tc, series_suite)
    elif tc.startswith("kernel-selftests"):
        job = _kselftest(rep, tc)
    else:
        raise InputError(f"unknown testcase '{tc}': repro runs boot, kernel-selftests with a "
                         "group, kernel-selftests-bpf and bpf (test_progs)", path=rep.source,
                         hint="pass --suite SUITE to run a suite of your choice")
    _machine(rep, job)
    _cmdline(rep, job)
    return job


def _group(rep: RobotReport, tc: str) -> str | None:
    m = HEADLINE.match(rep.headline or "")
    suffix = tc[len("kernel-selftests-"):] if tc.startswith("kernel-selftests-") else None
    return rep.params.get("group") or suffix or (m["group"] if m else None)


def _base(name: str) -> dict:
    """An installed suite's file as a plain dict (the generated suite starts from it;
    a deny entry's `expires` date becomes its YYYY-MM-DD text)."""
    from selftests.suite import suite_path
    return json.loads(json.dumps(_plain(_load(suite_path(name))), default=str))


def _load(path: Path):
    from common.yamlfile import load_yaml
    return load_yaml(path)


def _plain(node):
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _boot() -> RuntimeJob:
    doc = _base(BOOT_SUITE)
    doc.update(name="repro-boot", description="boot, then the shell-only tap-smoke check; "
               "the report's splat is looked for in the console")
    return RuntimeJob("boot", "command", doc, [
        f"testcase boot: the VM boots the kernel and runs the {BOOT_SUITE} check; the "
        "splat is looked for in its console"])


def _named_tests(rep: RobotReport) -> list[str]:
    names = [t for t in rep.failing_tests if ":" not in t]
    test = rep.params.get("test", "")
    if test and not test.startswith("test_progs") and test not in names:
        names.append(test)
    return sorted({n.split("/", 1)[0] for n in names})


def _test_progs(rep: RobotReport, tc: str, series_suite: str | None) -> RuntimeJob:
    names = _named_tests(rep)
    if not names and series_suite:
        doc = _base(series_suite)
        doc["name"] = f"repro-{series_suite}"
        return RuntimeJob(tc, doc["runner"], doc, [
            f"testcase {tc}: the report names no test_progs test; running the series' "
            f"suite {series_suite}"])
    if not names:
        raise InputError(f"testcase {tc}: the report names no test_progs test (no '#N "
                         "name:FAIL' line, no 'test:' parameter) and the series has no suite",
                         path=rep.source, hint="pass --suite SUITE")
    doc = {"name": "repro-test_progs", "runner": "test_progs", "allow": names,
           "description": f"test_progs -a {','.join(names)} (the report's tests)",
           "timeout": {"test": 300, "suite": 300 * len(names) + 300}}
    return RuntimeJob(tc, "test_progs", doc, [
        f"testcase {tc}: test_progs runs only {', '.join(names)}"])


def _kselftest(rep: RobotReport, tc: str) -> RuntimeJob:
    group = _group(rep, tc)
    if not group:
        raise InputError(f"testcase {tc}: the report names no kselftest group ('group:' "
                         "parameter)", path=rep.source)
    if not re.match(r"^[\w.-]+(?:/[\w.-]+)*$", group) or ".." in group.split("/"):
        raise InputError(f"testcase {tc}: group '{group}' is not a kselftest collection name",
                         path=rep.source)
    tests = sorted({t for t in rep.failing_tests if t.startswith(f"{group}:")})
    m = HEADLINE.match(rep.headline or "")
    if m and m["group"] == group and f"{group}:{m['test']}" not in tests:
        tests.append(f"{group}:{m['test']}")
    doc = _kselftest_base(group)
    doc.update(name=f"repro-kselftest-{group.replace('/', '-')}", allow=tests or [group],
               description=f"kselftest collection {group}"
               + (f" ({', '.join(tests)})" if tests else ""))
    what = f"only {', '.join(tests)}" if tests else "the whole collection"
    return RuntimeJob(tc, "kselftest", doc, [
        f"testcase {tc} group {group}: run_kselftest.sh runs {what}"])


def _kselftest_base(group: str) -> dict:
    """An installed kselftest suite of the collection (its cmdline, copy and
    timeouts), else a fresh one run from a copy (tests may write beside themselves)."""
    from selftests.suite import list_suites, load_suite
    for p in list_suites():
        s = load_suite(p)
        if s.runner == "kselftest" and group in s.kselftest_targets:
            return _base(str(p))
    return {"runner": "kselftest", "copy": True, "timeout": {"test": 600, "suite": 1800}}


def check_collection(doc: dict, tree_repo: Path | None, ref: str, runner, source: str) -> None:
    """A kselftest group must be a dir of the tree's tools/testing/selftests (read from
    the imported tree's git, before any build). No imported tree: not checked."""
    if doc.get("runner") != "kselftest" or tree_repo is None or not tree_repo.is_dir():
        return
    for coll in sorted({a.split(":", 1)[0] for a in doc.get("allow", [])}):
        res = runner.run(["git", "cat-file", "-t", f"{ref}:tools/testing/selftests/{coll}"],
                         cwd=tree_repo, check=False)
        if res.returncode != 0 or res.stdout.strip() != "tree":
            raise InputError(f"unknown kselftest group '{coll}': the tree ({tree_repo.name}) "
                             f"has no tools/testing/selftests/{coll} at {ref}", path=source)


def _round_down(n: int) -> int:
    """Whole GiB from 1G up, else whole MiB (at least 1M)."""
    unit = 1 << 30 if n >= 1 << 30 else 1 << 20
    return max(n // unit * unit, 1 << 20)


def _mem_text(n: int) -> str:
    return f"{n >> 30}G" if n % (1 << 30) == 0 else f"{n >> 20}M"


def _mem_bytes(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.upper().rstrip("B")
    return int(float(t[:-1]) * units[t[-1]]) if t[-1:] in units else int(t) << 20


def _machine(rep: RobotReport, job: RuntimeJob) -> None:
    """The test machine's CPUs and memory, capped to this host (CPUs to its count,
    memory to half of it), stated when capped."""
    vm = dict(job.doc.get("vm") or {})
    cpus, mem = host_limits()
    if rep.machine_cpus:
        vm["cpus"] = min(rep.machine_cpus, cpus)
        if rep.machine_cpus > cpus:
            job.notes.append(f"the report's test machine has {rep.machine_cpus} CPUs; the VM "
                             f"gets {cpus} (capped: this host has {cpus})")
    if rep.machine_memory:
        want, cap = _mem_bytes(rep.machine_memory), _round_down(mem // 2)
        vm["memory"] = _mem_text(_round_down(min(want, cap)))
        if want > cap:
            job.notes.append(f"the report's test machine has {rep.machine_memory} memory; the "
                             f"VM gets {vm['memory']} (capped: half of this host's "
                             f"{_mem_text(_round_down(mem))})")
    if vm:
        job.doc["vm"] = vm


def split_cmdline(text: str) -> tuple[list[str], list[str]]:
    """(parameters passed to the VM's kernel, parameters left out: the VM's own and
    the lkp harness's own)."""
    keep, drop = [], []
    for word in text.split():
        key = word.split("=", 1)[0]
        own = key in VM_OWN or key in LKP_OWN or key.isupper()
        (drop if own else keep).append(word)
    return keep, drop


def _cmdline(rep: RobotReport, job: RuntimeJob) -> None:
    if not rep.cmdline:
        return
    keep, drop = split_cmdline(rep.cmdline)
    base = list(job.doc.get("cmdline") or [])
    job.doc["cmdline"] = base + [w for w in keep if w not in base]
    keys = list(dict.fromkeys(w.split("=", 1)[0] + ("=" if "=" in w else "") for w in drop))
    job.notes.append(f"the report's kernel command line is used: {' '.join(keep) or 'nothing'}"
                     + (f"; left out (the VM's or lkp's own): {' '.join(keys)}" if keys else ""))


def write_suite(doc: dict, root: Path) -> Path:
    """The suite file (JSON is YAML) under <results>/repro-suites, named by content."""
    text = json.dumps(doc, indent=2, sort_keys=True) + "\n"
    tag = hashlib.sha256(text.encode()).hexdigest()[:8]
    path = Path(root) / "repro-suites" / f"{doc['name']}-{tag}.yaml"
    if not path.is_file():
        write_text(path, text)      # atomic: a killed or failed write leaves no half file
    return path
