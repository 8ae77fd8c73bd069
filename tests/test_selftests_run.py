"""run_suite against a fake VM: guest preparation, streaming, timeouts, retries
(flaky), crashes, splats from dmesg, Ctrl-C, the suite timeout."""
import json
from pathlib import Path

import pytest

from common.errors import InfraError
from results.model import ParsedLog, Splat, Status, TestResult
from selftests import run as run_mod
from selftests.guest import parse_prepare
from selftests.run import SuiteRequest, merge_retry, run_suite
from selftests.suite import parse_suite
from common.yamlfile import load_yaml
from vm.console import classify_failure
from vm.probe import ProbeResult
from vm.ssh import ExecResult

PREPARE_OK = ("kh-mount bpf mounted /sys/fs/bpf\nkh-mount tracefs unsupported /sys/kernel/tracing\n"
              "kh-mount debugfs failed /sys/kernel/debug\nkh-mount cgroup2 present /sys/fs/cgroup\n"
              "kh-tmp tmpfs mounted /tmp\nkh-bind /tmp/x mounted /tmp/x\n"
              "kh-rlimit memlock ok unlimited\nkh-rlimit nofile ok 65536\n"
              "kh-kernel release ok 6.12.117\n")


def fake_parse(fmt, lines):
    """Stand-in parser: 'ok NAME', 'fail NAME', 'plan A,B' (unreported -> MISSING)."""
    tests, planned = [], []
    for line in lines:
        word, _, rest = line.partition(" ")
        if word in ("ok", "fail"):
            name, _, sub = rest.partition("/")
            st = Status.PASS if word == "ok" else Status.FAIL
            if sub:
                top = next((t for t in tests if t.name == name), None)
                if top is None:
                    top = TestResult(name, st)
                    tests.append(top)
                top.subtests.append(TestResult(sub, st))
                if st == Status.FAIL:
                    top.status = st
            else:
                tests.append(TestResult(name, st))
        elif word == "plan":
            planned = rest.split(",")
    for name in planned:
        if not any(t.name == name for t in tests):
            tests.append(TestResult(name, Status.MISSING))
    return ParsedLog(fmt, tests)


def fake_splats(lines):
    return [Splat("warning", line, "fp") for line in lines if "WARNING:" in line]


REAL_PARSE, REAL_SPLATS = run_mod.parse_output, run_mod.find_splats


@pytest.fixture(autouse=True)
def parsers(monkeypatch):
    monkeypatch.setattr(run_mod, "parse_output", fake_parse)
    monkeypatch.setattr(run_mod, "find_splats", fake_splats)


class FakeConsole:
    def __init__(self):
        self.buf = ["boot line"]

    def count(self):
        return len(self.buf)

    def lines(self):
        return list(self.buf)


class FakeVM:
    """`script(label_args, attempt) -> (output, rc, timed_out)` answers each stream."""

    def __init__(self, script, tmp_path):
        self.script = script
        self.console = FakeConsole()
        self.dmesg = ["[0.0] boot"]
        self.streams = []
        self.execs = []
        self.dead = False
        self.req = type("R", (), {"rwdir": tmp_path / "rw"})()
        self.probe = ProbeResult("tcg", "--accel tcg", "forced")
        self.boot_seconds = 21.5
        self.expired = False

    def alive(self):
        return not self.dead

    def raise_if_expired(self):
        if self.expired:
            from vm.boot import VMRunTimeout
            raise VMRunTimeout(1.0, self.req.rwdir / "console.log")

    def crash(self):
        return classify_failure(self.console.lines(), timed_out=False)

    def exec(self, cmd, timeout):
        self.execs.append(cmd)
        if isinstance(cmd, list) and len(cmd) > 1 and cmd[1].endswith("prepare.sh"):
            return ExecResult(0, PREPARE_OK, "", False, 0.1)
        if cmd == ["dmesg"]:
            return ExecResult(0, "\n".join(self.dmesg) + "\n", "", False, 0.1)
        if " -l" in cmd:
            return ExecResult(0, "t1\nt2\nt3\n", "", False, 0.1)
        if isinstance(cmd, list) and cmd[0] in ("rm", "cp"):
            return ExecResult(1 if "nospace" in cmd[-1] else 0, "", "no space left", False, 0.1)
        raise AssertionError(cmd)

    def stream(self, line, out_path, timeout):
        self.streams.append((line, timeout))
        out, rc, to = self.script(self, line, len(self.streams))
        with open(out_path, "a") as f:
            f.write(out)
        if rc == "crash":
            self.dead = True
            raise InfraError("SSH connection to the guest is gone")
        return ExecResult(rc, "", "", to, timeout if to else 0.5)


def suite(tmp_path, text):
    p = tmp_path / "s.yaml"
    p.write_text(text)
    return parse_suite(load_yaml(p), str(p))


def req(tmp_path, s, **kw):
    return SuiteRequest(s, tmp_path / "out", selftests_dir=tmp_path / "st", **kw)


def summary(res):
    return json.loads(res.summary.read_text())


def test_prepare_output_is_parsed():
    info = parse_prepare(PREPARE_OK + "noise line\n")
    assert info.mounts == {"bpf": "mounted", "tracefs": "unsupported", "debugfs": "failed",
                           "cgroup2": "present"}
    assert info.missing == ["tracefs"] and info.failed == ["mount debugfs on /sys/kernel/debug"]
    assert info.tmp == "mounted" and info.kernel == "6.12.117" and info.rlimits["memlock"] == "ok"


def test_groups_run_in_order_and_results_are_streamed_and_summarized(tmp_path):
    s = suite(tmp_path, "runner: test_progs\nallow: [a, b]\n")

    def script(vm, line, n):
        name = "a" if "-a a" in line else "b"
        return f"ok {name}\n", 0, False
    vm = FakeVM(script, tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    assert res.ok and res.statuses == {"a": Status.PASS, "b": Status.PASS}
    assert [p.name for p in res.raw_logs] == ["001-a.log", "002-b.log"]
    assert res.raw_logs[0].read_text() == "ok a\n"
    assert "cd " in vm.streams[0][0] and str(tmp_path / "st" / "bpf") in vm.streams[0][0]
    prep = vm.execs[0]
    assert str(tmp_path / "out") in prep and str(tmp_path / "rw") in prep
    data = summary(res)
    assert data["ok"] and data["guest"]["mounts"]["bpf"] == "mounted"
    assert data["vm"] == {"accel": "tcg", "accel_reason": "--accel tcg",
                          "accel_source": "forced", "boot_seconds": 21.5}
    assert [g["log"] for g in data["groups"]] == ["001-a.log", "002-b.log"]


def test_hung_test_is_timeout_and_the_others_still_run(tmp_path):
    s = suite(tmp_path, "runner: test_progs\nallow: [a, hang, c]\ntimeout: {test: 7}\n")

    def script(vm, line, n):
        if "-a hang" in line:
            return "starting hang\n", -1, True
        return ("ok a\n" if "-a a" in line else "ok c\n"), 0, False
    vm = FakeVM(script, tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    st = res.statuses
    assert st == {"a": Status.PASS, "hang": Status.TIMEOUT, "c": Status.PASS}
    assert vm.streams[1][1] == 7
    assert not res.ok and res.groups[1].timed_out


def test_failure_then_pass_on_retry_is_flaky_with_both_runs(tmp_path):
    s = suite(tmp_path, "runner: test_progs\nallow: [a, b]\nretries: 2\n")
    seen = {"a": 0}

    def script(vm, line, n):
        if "-a a" in line:
            seen["a"] += 1
            if seen["a"] == 1:
                return "ok a/x\nfail a/y\n", 1, False
            return "ok a/x\nok a/y\n", 0, False
        return "fail b\n", 1, False
    vm = FakeVM(script, tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    a = next(t for t in res.parsed.tests if t.name == "a")
    b = next(t for t in res.parsed.tests if t.name == "b")
    assert a.status == Status.FLAKY and a.runs == ["fail", "pass"]
    assert a.subtests[1].status == Status.FLAKY and a.subtests[0].status == Status.PASS
    assert b.status == Status.FAIL and b.runs == ["fail", "fail", "fail"]
    assert res.statuses["a/y"] == Status.FLAKY
    assert [g.retry_of for g in res.groups] == [None, None, "a", "b", "b"]
    assert len(res.raw_logs) == 5 and not res.ok


def test_merge_retry_never_turns_a_failure_into_a_plain_pass():
    t = TestResult("t", Status.FAIL)
    merge_retry(t, TestResult("t", Status.PASS))
    assert t.status == Status.FLAKY and t.runs == ["fail", "pass"]
    u = TestResult("u", Status.TIMEOUT)
    merge_retry(u, TestResult("u", Status.FAIL))
    assert u.status == Status.TIMEOUT and u.runs == ["timeout", "fail"]


def test_dmesg_splats_are_attached_to_the_test_that_ran(tmp_path):
    s = suite(tmp_path, "runner: test_progs\nallow: [a, b]\n")

    def script(vm, line, n):
        if "-a b" in line:
            vm.dmesg.append("[5.0] WARNING: CPU: 0 PID: 1 at kernel/x.c:1 f+0x1/0x2")
        return "ok a\n" if "-a a" in line else "ok b\n", 0, False
    vm = FakeVM(script, tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    assert [(sp.test, sp.kind) for sp in res.parsed.splats] == [("b", "warning")]
    assert "WARNING" in res.dmesg_log.read_text()
    assert res.dmesg_log.read_text().count("[0.0] boot") == 1


def test_kernel_crash_marks_running_test_error_and_rest_missing(tmp_path):
    s = suite(tmp_path, "runner: test_progs\nallow: [a, b, c]\nretries: 1\n")

    def script(vm, line, n):
        if "-a b" in line:
            vm.console.buf += ["WARNING: CPU: 0 PID: 9 at x", "Kernel panic - not syncing: x"]
            return "started b\n", "crash", False
        return "ok a\n", 0, False
    vm = FakeVM(script, tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    assert res.crashed and not res.ok
    assert res.statuses == {"a": Status.PASS, "b": Status.ERROR, "c": Status.MISSING}
    assert [sp.test for sp in res.parsed.splats] == ["b"]
    assert len(vm.streams) == 2     # no retry on a dead kernel
    assert summary(res)["crashed"] is True


def test_command_runner_missing_test_after_timeout_becomes_timeout(tmp_path):
    s = suite(tmp_path, "runner: command\ncommand: [sh, x.sh]\ntimeout: {test: 5}\n")

    def script(vm, line, n):
        return "plan one,two,three\nok one\n", -1, True
    res = run_suite(req(tmp_path, s), FakeVM(script, tmp_path))
    assert res.statuses == {"one": Status.PASS, "two": Status.TIMEOUT, "three": Status.MISSING}


def test_command_runner_timeout_with_nothing_parsed_still_reports(tmp_path):
    s = suite(tmp_path, "name: quiet\nrunner: command\ncommand: [sh, x.sh]\n")
    res = run_suite(req(tmp_path, s), FakeVM(lambda vm, l, n: ("", -1, True), tmp_path))
    assert res.statuses == {"quiet": Status.TIMEOUT}


def test_suite_timeout_stops_and_marks_the_rest_missing(tmp_path, monkeypatch):
    s = suite(tmp_path, "runner: test_progs\nallow: [a, b, c]\ntimeout: {test: 10, suite: 20}\n")
    clock = {"t": 1000.0}
    monkeypatch.setattr(run_mod.time, "monotonic", lambda: clock["t"])

    def script(vm, line, n):
        clock["t"] += 15
        return "ok a\n" if "-a a" in line else "ok b\n", 0, False
    vm = FakeVM(script, tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    assert res.timed_out and res.statuses["c"] == Status.MISSING
    assert vm.streams[1][1] == 5          # the last group got only what was left
    assert not res.parsed.complete


def test_ctrl_c_writes_partial_summary_and_propagates(tmp_path):
    s = suite(tmp_path, "runner: test_progs\nallow: [a, b]\n")

    def script(vm, line, n):
        if "-a b" in line:
            raise KeyboardInterrupt
        return "ok a\n", 0, False
    res_dir = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_suite(req(tmp_path, s), FakeVM(script, tmp_path))
    data = json.loads((res_dir / "suite.json").read_text())
    assert data["interrupted"] is True and data["statuses"] == {"a": "pass"}
    assert (res_dir / "raw" / "001-a.log").read_text() == "ok a\n"


def test_denied_tests_are_not_run_and_failures_of_them_are_skips(tmp_path):
    s = suite(tmp_path, "runner: test_progs\nallow: [a]\ndeny:\n  - name: a/flaky\n"
                        "    reason: known bad\n")

    def script(vm, line, n):
        assert "-d a/flaky" in line
        return "ok a/x\nfail a/flaky\n", 1, False
    res = run_suite(req(tmp_path, s), FakeVM(script, tmp_path))
    assert res.statuses["a/flaky"] == Status.SKIP


def test_prepare_failure_is_infra_error(tmp_path):
    s = suite(tmp_path, "runner: test_progs\nallow: [a]\n")
    vm = FakeVM(lambda *a: ("", 0, False), tmp_path)
    vm.exec = lambda cmd, timeout: ExecResult(1, "kh-tmp tmpfs failed /tmp\n", "", False, 0.1)
    with pytest.raises(InfraError, match="guest preparation failed"):
        run_suite(req(tmp_path, s), vm)


def test_full_suite_lists_tests_in_the_guest(tmp_path):
    s = suite(tmp_path, "runner: test_progs\nbatch: 2\n")
    vm = FakeVM(lambda vm, line, n: ("ok t1\nok t2\n" if n == 1 else "ok t3\n", 0, False),
                tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    assert any(isinstance(c, str) and "./test_progs -l" in c for c in vm.execs)
    assert res.statuses == {"t1": Status.PASS, "t2": Status.PASS, "t3": Status.PASS}
    assert "-a t1,t2" in vm.streams[0][0] and "-a t3" in vm.streams[1][0]


def test_kselftest_runner_needs_a_path(tmp_path):
    s = suite(tmp_path, "runner: kselftest\nallow: [filesystems]\n")
    vm = FakeVM(lambda vm, line, n: ("ok filesystems\n", 0, False), tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    assert "run_kselftest.sh" in vm.streams[0][0]
    assert str(Path(tmp_path / "st" / "kselftest_install")) in vm.streams[0][0]
    assert res.ok


def test_copy_runs_the_suite_from_the_guests_tmp(tmp_path):
    s = suite(tmp_path, "name: ll\nrunner: kselftest\ncopy: true\nallow: [landlock]\n")
    vm = FakeVM(lambda vm, line, n: ("ok landlock:fs_test\n", 0, False), tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    assert res.statuses == {"landlock:fs_test": Status.PASS}     # the collection is reported
    src = str(Path(tmp_path / "st" / "kselftest_install").resolve())
    assert ["cp", "-a", src, "/tmp/kharness-ll"] in vm.execs
    assert "; cd /tmp/kharness-ll && exec ./run_kselftest.sh" in vm.streams[0][0]
    assert res.ok
    s = suite(tmp_path, "name: nospace\nrunner: kselftest\ncopy: true\nallow: [landlock]\n")
    with pytest.raises(InfraError) as e:
        run_suite(req(tmp_path, s), FakeVM(lambda vm, line, n: ("", 0, False), tmp_path))
    assert "no space left" in str(e.value)


def test_vm_killed_by_its_run_timeout_is_a_timeout_not_a_crash(tmp_path):
    s = suite(tmp_path, "runner: test_progs\nallow: [a, b, c]\nretries: 1\n")

    def script(vm, line, n):
        if "-a b" in line:
            vm.expired = True
            return "started b\n", "crash", False
        return "fail a\n", 1, False
    vm = FakeVM(script, tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    assert res.timed_out and res.vm_expired and not res.crashed
    assert res.statuses == {"a": Status.FAIL, "b": Status.TIMEOUT, "c": Status.MISSING}
    b = next(t for t in res.parsed.tests if t.name == "b")
    assert b.reason == "the VM outlived its run timeout and was killed"
    c = next(t for t in res.parsed.tests if t.name == "c")
    assert c.reason == "never ran: the VM's run timeout ran out"
    assert len(vm.streams) == 2 and vm.execs.count(["dmesg"]) == 1   # no retry, no dmesg
    data = summary(res)
    assert data["vm_expired"] is True and data["groups"][1]["vm_expired"] is True


def test_output_without_any_result_is_not_a_crash_of_the_harness(tmp_path, monkeypatch):
    from common.errors import ParseError

    def strict(fmt, lines):
        if not lines:
            raise ParseError("no KTAP/TAP version, plan or result line found", line=1)
        return fake_parse(fmt, lines)
    monkeypatch.setattr(run_mod, "parse_output", strict)
    s = suite(tmp_path, "name: quiet\nrunner: command\ncommand: [sh, x.sh]\n")
    res = run_suite(req(tmp_path, s), FakeVM(lambda vm, l, n: ("", -1, True), tmp_path))
    assert res.statuses == {"quiet": Status.TIMEOUT}
    assert not res.parsed.complete and "unparsable" in res.parsed.notes[0]


def test_tree_based_suite_runs_from_the_kernel_tree(tmp_path):
    s = suite(tmp_path, "runner: command\nbase: tree\npath: tools/x\ncommand: [sh, t.sh]\n")
    vm = FakeVM(lambda vm, l, n: ("ok one\n", 0, False), tmp_path)
    res = run_suite(SuiteRequest(s, tmp_path / "out", tree_dir=tmp_path / "wt"), vm)
    assert f"cd {tmp_path / 'wt' / 'tools' / 'x'} && exec sh t.sh" in vm.streams[0][0]
    assert str(tmp_path / "wt" / "tools" / "x") in vm.execs[0]     # kept visible in the guest
    assert res.ok


def test_real_parsers_hung_ktap_command_and_a_panic(tmp_path, monkeypatch):
    monkeypatch.setattr(run_mod, "parse_output", REAL_PARSE)
    monkeypatch.setattr(run_mod, "find_splats", REAL_SPLATS)
    s = suite(tmp_path, "name: k\nrunner: command\ncommand: [sh, x.sh]\n")

    def hang(vm, line, n):
        return "KTAP version 1\n1..3\nok 1 first\nok 2 second # SKIP no bpf\n", -1, True
    res = run_suite(req(tmp_path, s), FakeVM(hang, tmp_path))
    values = list(res.statuses.values())
    assert res.statuses["first"] == Status.PASS and res.statuses["second"] == Status.SKIP
    assert values.count(Status.TIMEOUT) == 1 and len(values) == 3

    def panic(vm, line, n):
        vm.console.buf += ["[   47.70] sysrq: Trigger a crash",
                           "[   47.70] Kernel panic - not syncing: sysrq triggered crash",
                           "[   47.70] CPU: 0 UID: 0 PID: 90 Comm: sh Not tainted 6.12.117 #1",
                           "[   47.70] Call Trace:", "[   47.70]  <TASK>",
                           "[   47.70]  dump_stack_lvl+0x2b/0x40", "[   47.70]  </TASK>"]
        return "KTAP version 1\n1..1\n", "crash", False
    res = run_suite(req(tmp_path, s), FakeVM(panic, tmp_path))
    assert res.crashed and [sp.kind for sp in res.parsed.splats] == ["panic"]
    assert res.parsed.splats[0].test == "k" and Status.ERROR in res.statuses.values()


def write_tree(tmp_path, monkeypatch, denylist):
    from patches import treedefs
    d = tmp_path / "trees" / "t1"
    d.mkdir(parents=True)
    (d / "tree.yaml").write_text("name: t1\ndescription: x\nsource: {apt: p}\ndenylist:\n"
                                 + denylist)
    monkeypatch.setattr(treedefs, "TREES_DIR", tmp_path / "trees")
    return d / "tree.yaml"


TREE_DENY = """\
  - suite: test_progs
    test: a/tree_bad
    reason: broken in this tree
  - suite: test_progs
    test: a/clang_only
    reason: miscompiled by clang
    toolchain: [llvm, llvm-19]
  - suite: kselftest
    test: "landlock:fs_test"
    reason: not a test_progs entry
  - suite: test_progs
    test: a/old
    reason: fixed upstream
    expires: 2020-01-01
"""


def test_tree_deny_list_applies_with_its_conditions_and_is_recorded(tmp_path, monkeypatch):
    tree_yaml = write_tree(tmp_path, monkeypatch, TREE_DENY)
    s = suite(tmp_path, "runner: test_progs\nallow: [a]\n")

    def script(vm, line, n):
        return "ok a/x\nfail a/tree_bad\nfail a/clang_only\nfail a/old\n", 1, False
    vm = FakeVM(script, tmp_path)
    res = run_suite(req(tmp_path, s, tree_name="t1", toolchain="gcc"), vm)
    assert "-d a/tree_bad" in vm.streams[0][0] and "clang_only" not in vm.streams[0][0]
    assert res.statuses["a/tree_bad"] == Status.SKIP
    assert res.statuses["a/clang_only"] == Status.FAIL       # gcc: the entry does not apply
    assert res.statuses["a/old"] == Status.FAIL              # expired
    assert any(f"{tree_yaml}:15: deny entry 'a/old' expired" in w for w in res.warnings)
    deny = summary(res)["deny"]
    assert deny["job"] == {"accel": "tcg", "arch": "x86_64", "toolchain": "gcc"}
    assert [(e["name"], e["source"]) for e in deny["applied"]] == \
        [("a/tree_bad", f"{tree_yaml}:5")]
    assert [(e["name"], e["why"]) for e in deny["not_applied"]] == \
        [("a/clang_only", "toolchain is gcc, the entry is for llvm|llvm-19")]
    assert [e["name"] for e in deny["expired"]] == ["a/old"]
    res = run_suite(req(tmp_path, s, tree_name="t1", toolchain="llvm-19"), FakeVM(script, tmp_path))
    assert res.statuses["a/clang_only"] == Status.SKIP


def test_accel_condition_follows_the_accelerator_the_vm_runs_with(tmp_path):
    s = suite(tmp_path, "runner: test_progs\nallow: [a]\ndeny:\n  - name: a/slow\n"
                        "    reason: minutes under TCG\n    accel: tcg\n")

    def script(vm, line, n):
        return "ok a/x\nfail a/slow\n", 1, False
    tcg = FakeVM(script, tmp_path)
    res = run_suite(req(tmp_path, s), tcg)
    assert "-d a/slow" in tcg.streams[0][0] and res.statuses["a/slow"] == Status.SKIP
    kvm = FakeVM(script, tmp_path)
    kvm.probe = ProbeResult("kvm", "reached init", "probe")
    res = run_suite(req(tmp_path, s), kvm)
    assert "-d" not in kvm.streams[0][0].split() and res.statuses["a/slow"] == Status.FAIL
    assert summary(res)["deny"]["not_applied"][0]["why"] == "accel is kvm, the entry is for tcg"


def test_a_named_test_the_tree_denies_is_a_skip_not_missing(tmp_path):
    """debian-6.12's fix-up removes bpf_attr_size; its deny entry keeps a suite
    that names it from counting it as missing."""
    s = suite(tmp_path, "runner: test_progs\nallow: [obj_name, bpf_attr_size]\n")
    vm = FakeVM(lambda vm, line, n: ("ok obj_name\n", 0, False), tmp_path)
    res = run_suite(req(tmp_path, s, tree_name="debian-6.12"), vm)
    assert res.statuses == {"bpf_attr_size": Status.SKIP, "obj_name": Status.PASS}
    assert len(vm.streams) == 1 and "-a obj_name -d bpf_attr_size" in vm.streams[0][0]
    skip = next(t for t in res.parsed.tests if t.name == "bpf_attr_size")
    assert "deny-listed" in skip.reason and "debian-6.12/tree.yaml" in skip.reason
    assert res.ok


def test_vm_budget_is_boot_plus_each_suites_timeout_and_slack(tmp_path):
    a = suite(tmp_path, "runner: test_progs\ntimeout: {test: 10, suite: 900}\n")
    b = suite(tmp_path, "runner: test_progs\ntimeout: {test: 10, suite: 14400}\n")
    slack = run_mod.SUITE_SLACK
    assert run_mod.vm_budget([a, b]) == 180 + run_mod.LOGIN_SETUP + 900 + 14400 + 2 * slack
    assert run_mod.vm_budget([a], boot_timeout=60) == 60 + run_mod.LOGIN_SETUP + 900 + slack


def test_prepare_keeps_its_own_dir_for_the_next_suite_of_the_boot():
    """The first prepare.sh makes the guest's /tmp private; a harness checkout under
    /tmp (a CI clone) must still have prepare.sh there for the next suite."""
    from selftests.guest import PREPARE, prepare_guest

    class VM:
        def __init__(self):
            self.argv = None

        def exec(self, cmd, timeout):
            self.argv = cmd
            return ExecResult(0, PREPARE_OK, "", False, 0.1)
    vm = VM()
    prepare_guest(vm, [Path("/tmp/results")])
    assert vm.argv[:3] == ["sh", str(PREPARE), str(PREPARE.parent)]
    assert "/tmp/results" in vm.argv

