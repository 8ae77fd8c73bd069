"""Real VMs: the small kernel from the kbuild stage booted under TCG with
virtme-ng, SSH, the tap-smoke suite, a hung command, a deliberate panic."""
import dataclasses
import time
from pathlib import Path

import pytest

from common.proc import Runner
from results.model import Status
from selftests.run import SuiteRequest, run_suite
from selftests.suite import load_suite
from vm.boot import VMBootError, VMRequest, start_vm
from vm.probe import ProbeRequest, probe_accel
from vm.vng import group_alive

pytestmark = pytest.mark.integration


def request(kernel, out: Path, **kw) -> VMRequest:
    args = dict(kernel=kernel, rwdir=out / "rw", console_log=out / "console.log", accel="tcg",
                cpus=1, memory="512M", boot_timeout=240, run_timeout=900)
    args.update(kw)
    return VMRequest(**args)


@pytest.fixture(scope="module")
def vm(small_kernel, tmp_path_factory):
    out = tmp_path_factory.mktemp("vm")
    with start_vm(request(small_kernel, out), Runner()) as machine:
        yield machine
    assert not group_alive(machine.proc.pid)


def test_boots_under_tcg_and_answers_over_ssh(vm):
    res = vm.exec(["uname", "-r"], 30)
    assert res.rc == 0 and res.stdout.strip() and not res.timed_out
    assert vm.accel == "tcg" and vm.session.policy.pinned is not None
    console = vm.req.console_log.read_text(errors="replace")
    assert any(line.startswith("Linux version") or "] Linux version" in line
               for line in console.splitlines()[:200])
    ro = vm.exec("touch /kharness-ro-check", 30)
    assert ro.rc != 0                                   # host root is read-only
    rw = vm.exec(["sh", "-c", f"echo hi > {vm.req.rwdir}/probe.txt"], 30)
    assert rw.rc == 0 and (vm.req.rwdir / "probe.txt").read_text() == "hi\n"


def test_tap_smoke_suite_runs_and_parses(vm, tmp_path):
    res = run_suite(SuiteRequest(load_suite("tap-smoke"), tmp_path / "tap"), vm)
    statuses = res.statuses
    assert statuses["proc_version"] == Status.PASS
    assert statuses["tmp_is_private_tmpfs"] == Status.PASS
    assert statuses["root_is_readonly_9p"] == Status.PASS
    assert res.ok, statuses
    assert res.guest.tmp == "mounted" and res.guest.kernel
    assert res.raw_logs[0].read_text().startswith("KTAP version 1")
    assert (tmp_path / "tap" / "suite.json").is_file()


def test_hung_command_is_killed_by_its_timeout(vm, tmp_path):
    start = time.monotonic()
    res = vm.exec("sleep 1000; echo never", 4)
    assert res.timed_out and "never" not in res.stdout
    assert time.monotonic() - start < 25
    left = vm.exec("ps -eo args | grep -c '^sleep 1000' || true", 30)
    assert left.stdout.strip() == "0"
    suite = dataclasses.replace(load_suite("tap-smoke"), command=["sh", "tap-smoke.sh", "hang"],
                                test_timeout=8)
    res = run_suite(SuiteRequest(suite, tmp_path / "hang"), vm)
    bad = {k: v for k, v in res.statuses.items() if v.is_bad}
    assert list(bad.values()) == [Status.TIMEOUT], res.statuses
    assert res.statuses["proc_version"] == Status.PASS
    assert vm.exec(["true"], 30).rc == 0               # the VM is still fine


def test_boot_failure_without_init_is_reported(small_kernel, tmp_path):
    # a root that does not exist: the kernel mounts nothing and finds no init
    req = request(small_kernel, tmp_path, append=["root=kharness-no-such-root"],
                  boot_timeout=120)
    with pytest.raises(VMBootError) as err:
        with start_vm(req, Runner()):
            pytest.fail("booted without init")
    assert err.value.kind == "no-init" and len(err.value.tail) <= 50
    assert "init" in err.value.detail or "root" in err.value.detail


def test_guest_panic_is_a_crash_with_its_splat(small_kernel, tmp_path):
    suite = dataclasses.replace(
        load_suite("tap-smoke"), name="panic", test_timeout=60,
        command=["sh", "-c", "echo 'KTAP version 1'; echo 1..1; "
                 "echo c > /proc/sysrq-trigger; sleep 30; echo 'ok 1 survived'"])
    with start_vm(request(small_kernel, tmp_path), Runner()) as machine:
        res = run_suite(SuiteRequest(suite, tmp_path / "panic"), machine)
        pid = machine.proc.pid
    assert not group_alive(pid)
    assert res.crashed and not res.ok
    assert any(s.kind == "panic" for s in res.parsed.splats), res.parsed.splats
    assert all(s.test for s in res.parsed.splats)
    assert Status.ERROR in res.statuses.values() or Status.MISSING in res.statuses.values()
    assert "sysrq" in (tmp_path / "console.log").read_text(errors="replace").lower()


def test_probe_decides_and_caches(small_kernel, tmp_path):
    req = ProbeRequest(small_kernel, cache=tmp_path / "probe.json", timeout=25)
    first = probe_accel(req, Runner())
    assert first.accel in ("kvm", "tcg") and first.reason
    again = probe_accel(req, Runner())
    assert again.accel == first.accel
    assert again.source == ("cached" if first.source == "probed" else first.source)
