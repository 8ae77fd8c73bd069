"""Run a suite in a booted VM: prepare the guest, run each group with its
timeout, stream raw output to the results dir, look for splats after each group
(in the console the harness keeps whole, and in the dmesg records newer than
the last read), retry failures (flaky = failed then passed), write suite.json as it goes."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InfraError, ParseError
from common.fsutil import write_json
from results.model import ParsedLog, Splat, Status, TestResult

from .conditions import JobFacts
from .guest import GuestInfo, prepare_guest
from .runners import Group, list_command, plan, retry_group, runner_dir, safe_label
from .selection import Selection, apply_deny, matches, select, tree_deny
from .suite import Suite

LOGIN_SETUP = 120.0      # start_vm's first command in the guest (vm.boot.QUIET_SHELL)
SUITE_SLACK = 300.0      # per suite, past its timeout: guest preparation, listing,
                         # the last group's kill grace and dmesg read
QUIET = 0.5              # after a killed or crashed group: the console is settled once
SETTLE_MAX = 5.0         # quiet this long (at most SETTLE_MAX), so what the kernel
                         # prints while the test dies is counted for that test


@dataclass
class SuiteRequest:
    suite: Suite
    out_dir: Path                        # results dir for this suite (host side)
    selftests_dir: Path | None = None    # built selftests (kbuild artifacts or tools/testing/selftests)
    tree_dir: Path | None = None         # kernel source tree (suites with base: tree)
    only: list[str] = field(default_factory=list)   # narrow the allow list
    today: dt.date | None = None         # for deny expiry (tests pin it)
    keep: list[Path] = field(default_factory=list)  # more host paths the guest needs
    tree_name: str | None = None         # its patches/trees/<tree>/tree.yaml deny list applies
    arch: str = "x86_64"                 # for deny entries' conditions (accel: the VM's)
    toolchain: str | None = None


@dataclass
class GroupRun:
    label: str
    log: Path
    rc: int | None
    timed_out: bool
    duration: float
    crashed: bool = False
    retry_of: str | None = None
    vm_expired: bool = False       # cut off by the VM's run timeout (the VM was killed)
    reported: list[str] = field(default_factory=list)   # top-level tests its log reported
    truncated: int = 0             # output bytes past vm.ssh.STREAM_CAP, not saved

    def to_dict(self) -> dict:
        return {"label": self.label, "log": self.log.name, "rc": self.rc,
                "timed_out": self.timed_out, "duration": round(self.duration, 3),
                "crashed": self.crashed, "retry_of": self.retry_of,
                "vm_expired": self.vm_expired, "truncated": self.truncated}


@dataclass
class SuiteResult:
    suite: str
    parsed: ParsedLog                     # all groups' tests, retries merged in
    raw_logs: list[Path]
    dmesg_log: Path
    summary: Path                         # suite.json
    guest: GuestInfo | None = None
    groups: list[GroupRun] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    crashed: bool = False                 # the VM (kernel or its SSH) died during the run
    timed_out: bool = False               # the suite timeout or the VM's run timeout ran out
    vm_expired: bool = False              # the VM outlived its run timeout and was killed
    interrupted: bool = False             # Ctrl-C
    duration: float = 0.0
    vm: dict = field(default_factory=dict)   # accel, probe reason, boot seconds
    deny: dict = field(default_factory=dict)  # Selection.to_dict(): applied, not_applied, expired

    @property
    def statuses(self) -> dict[str, Status]:
        """Every test and subtest by path ("test/subtest")."""
        return {path: t.status for path, t in self.parsed.flat()}

    @property
    def ok(self) -> bool:
        return not (self.crashed or self.timed_out or self.interrupted) and \
            not any(s.is_bad for s in self.statuses.values())

    def to_dict(self) -> dict:
        return {"suite": self.suite, "ok": self.ok, "crashed": self.crashed,
                "timed_out": self.timed_out, "vm_expired": self.vm_expired,
                "interrupted": self.interrupted, "duration": round(self.duration, 3),
                "warnings": self.warnings, "vm": self.vm, "deny": self.deny,
                "guest": self.guest.to_dict() if self.guest else None,
                "groups": [g.to_dict() for g in self.groups],
                "statuses": {k: v.value for k, v in self.statuses.items()},
                "parsed": self.parsed.to_dict()}


def vm_budget(suites: list[Suite], boot_timeout: float = 180.0) -> float:
    """The VM's run timeout (vm.boot.VMRequest.run_timeout) for a job running
    `suites` in one VM: the boot timeout (VMRequest's default 180 s), the first
    login's setup, and each suite's own timeout plus its slack."""
    return boot_timeout + LOGIN_SETUP + sum(s.suite_timeout + SUITE_SLACK for s in suites)


def vm_facts(vm) -> dict:
    """What the summary records about the VM: the accelerator and why, boot time,
    what the guest is kept from (vm.boot.VM.containment)."""
    probe = getattr(vm, "probe", None)
    facts = {"boot_seconds": round(getattr(vm, "boot_seconds", 0.0), 1)}
    if probe is not None:
        facts.update(accel=probe.accel, accel_reason=probe.reason, accel_source=probe.source)
    containment = getattr(vm, "containment", None)
    if isinstance(containment, dict) and containment:
        facts["containment"] = dict(containment)
    return facts


def parse_group_log(fmt: str, lines: list[str]) -> ParsedLog:
    """Parse one group's raw output; output with no results at all (killed
    before its first line, or not TAP) is an empty, incomplete log."""
    try:
        return parse_output(fmt, lines)
    except ParseError as e:
        return ParsedLog(fmt, complete=False, notes=[f"unparsable output: {e.message}"])


def parse_output(fmt: str, lines: list[str]) -> ParsedLog:
    """Dispatch to the results parsers (imported when first needed)."""
    if fmt == "test_progs":
        from results.test_progs import parse_test_progs
        return parse_test_progs(lines)
    if fmt == "kselftest":
        from results.kselftest import parse_kselftest
        return parse_kselftest(lines)
    from results.ktap import parse_ktap
    return parse_ktap(lines)


def find_splats(lines: list[str]) -> list[Splat]:
    from results.splat import find_splats as detect
    return detect(lines)


def console_since(console, mark: int) -> list[str]:
    """Console lines from absolute line `mark` on (a bounded console keeps a
    window: ConsoleCapture.since)."""
    since = getattr(console, "since", None)
    return since(mark) if since is not None else console.lines()[mark:]


def settle(console, quiet: float = QUIET, most: float = SETTLE_MAX) -> None:
    """Wait until the console has printed nothing for `quiet` seconds (at most
    `most`): a test being killed can still make the kernel print a splat."""
    end = time.monotonic() + most
    last, since = console.count(), time.monotonic()
    while time.monotonic() < end and time.monotonic() - since < quiet:
        time.sleep(0.05)
        now = console.count()
        if now != last:
            last, since = now, time.monotonic()


class _Run:
    """The state of one run_suite call."""

    def __init__(self, req: SuiteRequest, vm):
        self.req, self.vm, self.suite = req, vm, req.suite
        self.out = Path(req.out_dir)
        self.raw_dir = self.out / "raw"
        self.raw_dir.mkdir(parents=True, exist_ok=True)
        self.start = time.monotonic()
        self.deadline = self.start + self.suite.suite_timeout
        from results.splat import LogCursor
        self.kmsg = LogCursor()
        self.result = SuiteResult(self.suite.name, ParsedLog(self.suite.output_format), [],
                                  self.out / "dmesg.log", self.out / "suite.json")

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def stop_reason(self) -> str | None:
        """Why no further group can run, or None."""
        if self.result.vm_expired:
            return "the VM's run timeout ran out"
        if self.result.crashed:
            return "kernel crashed earlier"
        return "suite timeout ran out" if self.left() <= 0 else None

    def save(self) -> None:
        self.result.duration = time.monotonic() - self.start
        write_json(self.result.summary, self.result.to_dict())

    def run_group(self, group: Group, index: int) -> list[TestResult]:
        """Run one group, stream its log, parse it, account for timeouts/crashes."""
        log = self.raw_dir / f"{index:03d}-{group.label}.log"
        self.result.raw_logs.append(log)
        timeout = min(group.timeout, max(1.0, self.left()))
        console_mark = self.vm.console.count()
        run = self.stream(group, log, timeout)
        self.result.groups.append(run)
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        parsed = parse_group_log(self.suite.output_format, lines)
        self.result.parsed.unknown.extend(parsed.unknown)
        if not parsed.complete:
            self.result.parsed.complete = False
        self.result.parsed.notes.extend(f"{group.label}: {n}" for n in parsed.notes)
        if run.truncated:
            self.result.parsed.complete = False
            self.result.parsed.notes.append(
                f"{group.label}: output truncated, {run.truncated} bytes past the cap "
                f"were not saved (see the end of {log.name})")
        tests = parsed.tests
        account(tests, group, run, timeout)
        run.reported = [t.name for t in tests]
        running = group.tests[0] if len(group.tests) == 1 else group.label
        splats = list(parsed.splats) + self.group_splats(run, console_mark)
        for s in splats:
            s.test = s.test or running
        self.result.parsed.splats.extend(splats)
        return tests

    def stream(self, group: Group, log: Path, timeout: float) -> GroupRun:
        """Run the group's command; a VM gone when it returns either crashed or,
        with no crash on its console, was killed by its run timeout."""
        rc, timed_out, gone, start = None, False, False, time.monotonic()
        truncated = 0
        try:
            res = self.vm.stream(group.line(), log, timeout)
            rc, timed_out, took = res.rc, res.timed_out, res.duration
            truncated = getattr(res, "truncated", 0)
        except InfraError:
            gone, took = True, time.monotonic() - start
        crash = self.vm.crash()
        gone = gone or not self.vm.alive() or crash is not None
        expired = gone and crash is None and getattr(self.vm, "expired", False)
        run = GroupRun(group.label, log, rc, timed_out or expired, took,
                       gone and not expired, group.retry_of, expired, truncated=truncated)
        self.result.crashed = self.result.crashed or run.crashed
        if expired:
            self.result.timed_out = self.result.vm_expired = True
        return run

    def group_splats(self, run: GroupRun, console_mark: int) -> list[Splat]:
        """The splats printed while a group ran (and while it was killed): from
        the console stream since the group started, joined with dmesg's new
        records (each splat once); a gone VM has the console only."""
        from results.splat import merge_found
        if run.timed_out or run.crashed or run.vm_expired:
            settle(self.vm.console)
        start = getattr(self.vm.console, "window_start", 0)
        if start > console_mark:
            self.result.parsed.notes.append(
                f"{run.label}: {start - console_mark} console lines left the in-memory "
                f"window before they were scanned for splats (all are in console.log)")
        console = find_splats(console_since(self.vm.console, console_mark))
        if run.crashed or run.vm_expired:
            return console
        return merge_found(self.new_dmesg_splats(), console)

    def new_dmesg_splats(self) -> list[Splat]:
        res = self.vm.exec(["dmesg"], 60.0)
        if res.rc != 0:
            return []
        new = self.kmsg.new(res.stdout.splitlines())
        if new:
            with open(self.result.dmesg_log, "a", encoding="utf-8") as f:
                f.write("\n".join(new) + "\n")
        return find_splats(new)


def account(tests: list[TestResult], group: Group, run: GroupRun, timeout: float) -> None:
    """Fill in what a killed or crashed group never reported (in place): the test
    that was running becomes TIMEOUT (or ERROR on a crash), tests that never
    started become MISSING."""
    reported = [p for t in tests for p, _ in t.walk()]
    if run.crashed:
        bad, why = Status.ERROR, "kernel crashed while it ran"
    elif run.vm_expired:
        bad, why = Status.TIMEOUT, "the VM outlived its run timeout and was killed"
    elif run.timed_out:
        bad, why = Status.TIMEOUT, f"killed after {timeout:.0f}s"
    else:
        bad, why = Status.MISSING, f"not reported (exit status {run.rc})"
    missing = [t for t in tests if t.status == Status.MISSING]
    if missing and bad != Status.MISSING:
        missing[0].status, missing[0].reason = bad, why
    absent = [n for n in group.tests if not any(matches(n, p) for p in reported)]
    for i, name in enumerate(absent):
        first = i == 0 and not missing
        tests.append(TestResult(name, bad if first else Status.MISSING,
                                reason=why if first else "never ran: " + why))
    if bad != Status.MISSING and not any(p_t.status == bad for t in tests for _, p_t in t.walk()):
        tests.append(TestResult(group.label, bad, reason=why))
    elif not tests and not group.tests and run.rc != 0:
        tests.append(TestResult(group.label, bad, reason=why))


def merge_retry(orig: TestResult, new: TestResult) -> None:
    """Keep both runs: failed-then-passed becomes FLAKY, never a plain pass."""
    orig.runs = (orig.runs or [orig.status.value]) + [new.status.value]
    if orig.status.is_bad and not new.status.is_bad:
        orig.status = Status.FLAKY
    by_name = {s.name: s for s in new.subtests}
    for sub in orig.subtests:
        if sub.status.is_bad and sub.name in by_name:
            merge_retry(sub, by_name[sub.name])


def copy_to_guest_tmp(vm, src: Path, name: str) -> Path:
    """Copy the runner dir into the guest's own tmpfs /tmp (not the host's) and
    return the copy: for tests that write files next to themselves."""
    dest = Path("/tmp") / f"kharness-{safe_label(name)}"
    for argv in (["rm", "-rf", str(dest)], ["cp", "-a", str(src), str(dest)]):
        res = vm.exec(argv, 300.0)
        if res.rc != 0:
            raise InfraError(f"guest: {' '.join(argv)} failed (exit {res.rc}): "
                             f"{(res.stderr or res.stdout).strip()[-300:]}")
    return dest


def run_suite(req: SuiteRequest, vm) -> SuiteResult:
    """Run `req.suite` in `vm` (a vm.boot.VM). Never raises for test failures, a
    hung test or a kernel crash: those are in the result. Ctrl-C stops the run,
    writes the partial suite.json and re-raises."""
    r = _Run(req, vm)
    suite = req.suite
    sel = selection(req, vm)
    r.result.warnings.extend(sel.warnings)
    r.result.vm = vm_facts(vm)
    r.result.deny = sel.to_dict()
    try:
        cwd = runner_dir(suite, req.selftests_dir, req.tree_dir)
        keep = [cwd, r.out, *req.keep, *([vm.req.rwdir] if getattr(vm, "req", None) else [])]
        r.result.guest = prepare_guest(vm, keep)
        if suite.copy:
            cwd = copy_to_guest_tmp(vm, cwd, suite.name)
        r.save()
        listed = None
        line = list_command(suite, cwd)
        if line is not None:
            res = vm.exec(line, 120.0)
            listed = [x.strip() for x in res.stdout.splitlines() if x.strip()] if res.ok else None
        todo = plan(suite, sel, cwd, listed)
        r.result.parsed.tests.extend(
            TestResult(name, Status.SKIP, reason=f"deny-listed ({e.where}): {e.reason}")
            for name, e in todo.denied)
        _run_groups(r, todo.groups, sel)
    except KeyboardInterrupt:
        r.result.interrupted = True
        r.save()
        raise
    apply_deny(r.result.parsed.tests, sel.deny)
    r.save()
    return r.result


def selection(req: SuiteRequest, vm) -> Selection:
    """The suite's and the tree's deny entries that apply to this job: the
    accelerator the VM runs with, the arch and the toolchain."""
    probe = getattr(vm, "probe", None)
    job = JobFacts(accel=getattr(probe, "accel", None), arch=req.arch,
                   toolchain=req.toolchain)
    return select(req.suite, req.today, req.only, job=job,
                  extra=tree_deny(req.tree_name, req.suite.runner))


def _run_groups(r: _Run, groups: list[Group], sel: Selection) -> None:
    suite = r.suite
    index = 0
    ran: list[tuple[Group, list[TestResult]]] = []
    for pos, group in enumerate(groups):
        why = r.stop_reason()
        if why is not None:
            r.result.timed_out = r.result.timed_out or r.left() <= 0
            for g in groups[pos:]:
                names = g.tests or [g.label]
                r.result.parsed.tests.extend(
                    TestResult(n, Status.MISSING, reason=f"never ran: {why}") for n in names)
            r.result.parsed.complete = False
            r.save()
            return
        index += 1
        tests = r.run_group(group, index)
        r.result.parsed.tests.extend(tests)
        ran.append((group, tests))
        r.save()
    for attempt in range(1, suite.retries + 1):
        todo = _retry_units(suite, sel, ran, attempt)
        if not todo or r.stop_reason() is not None:
            break
        for retry, failed in todo:
            if r.stop_reason() is not None:
                return
            index += 1
            new = r.run_group(retry, index)
            for test in failed:
                match = next((n for n in new if n.name == test.name), None) or \
                    TestResult(test.name, Status.MISSING, reason="not reported on retry")
                merge_retry(test, match)
            r.save()


def _retry_units(suite: Suite, sel: Selection, ran, attempt: int):
    """(retry group, failed tests it re-runs): one per failed test for test_progs,
    one per original group otherwise."""
    units = []
    for group, tests in ran:
        failed = [t for t in tests if t.status.is_bad]
        if not failed:
            continue
        if suite.is_test_progs:
            units += [(retry_group(suite, sel, t.name, group, attempt), [t]) for t in failed]
        else:
            units.append((retry_group(suite, sel, failed[0].name, group, attempt), failed))
    return units
