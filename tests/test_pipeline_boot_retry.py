"""The boot stage boots a kernel once more when the guest lost its NIC to udev's
eth0 rename (vm.console.NO_NET), and only then: driven through run_job with
stage_boot and a fake start_vm (no qemu)."""
import io
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

import vm.boot
from common.progress import Progress
from common.proc import FakeRunner
from pipeline.check import JobPlan
from pipeline.context import StageReport
from pipeline.job import JobSpec
from pipeline.run import run_job
from pipeline.stages import stage_boot
from vm.boot import VMBootError
from vm.console import NO_NET, NO_SSH, PANIC

RACE = ("init ran but SSH never answered: the guest's NIC was renamed under its DHCP "
        "client (enp0s5: renamed from eth0; Cannot find device \"eth0\")")


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))


def boots(monkeypatch, tmp_path, failures: list[str]) -> list[int]:
    """start_vm fails with each kind in `failures` in turn, then boots; returns the
    list of attempts made."""
    made = []

    @contextmanager
    def fake_start_vm(req, runner, **kw):
        made.append(1)
        if len(made) <= len(failures):
            kind = failures[len(made) - 1]
            raise VMBootError(kind, RACE if kind == NO_NET else "it broke", ["tail"],
                              tmp_path / "console.log")
        yield SimpleNamespace(probe=SimpleNamespace(accel="tcg", reason="probe"))
    monkeypatch.setattr(vm.boot, "start_vm", fake_start_vm)
    return made


def job(tmp_path, clock=None):
    image = tmp_path / "bzImage"
    image.write_bytes(b"kernel")

    def build(ctx):
        ctx.build = SimpleNamespace(bzimage=image, key="k" * 64)
        return StageReport("built")
    out = run_job(JobPlan(JobSpec()), [("build", build), ("boot", stage_boot)],
                  FakeRunner(), Progress(stream=io.StringIO(), **({"clock": clock} if clock else {})),
                  tmp_path / "res", run_id="r")
    return out, next(s for s in out.summary.stages if s.name == "boot")


def test_the_rename_race_boots_once_more_and_says_so(monkeypatch, tmp_path):
    made = boots(monkeypatch, tmp_path, [NO_NET])
    out, boot = job(tmp_path)
    assert len(made) == 2 and out.exit_code == 0 and boot.status == "ok"
    assert boot.detail == f"accel tcg, booted again after: {RACE}"
    assert boot.data == {"attempts": 2, "first_failure": RACE}


@pytest.mark.parametrize("failures", [[NO_SSH], [PANIC], [NO_NET, NO_NET]])
def test_any_other_failure_or_a_second_race_stands(monkeypatch, tmp_path, failures):
    made = boots(monkeypatch, tmp_path, failures)
    out, boot = job(tmp_path)
    assert len(made) == len(failures)                 # no third boot, no retry of a panic
    assert out.exit_code == 6 and boot.status == "failed"


def test_a_clean_boot_is_one_attempt_with_no_retry_data(monkeypatch, tmp_path):
    made = boots(monkeypatch, tmp_path, [])
    out, boot = job(tmp_path)
    assert len(made) == 1 and boot.detail == "accel tcg" and not boot.data


def test_only_the_boot_that_answered_is_recorded_for_the_next_eta(monkeypatch, tmp_path):
    """The failed attempt's 180 s wait must not count as this kernel's boot time."""
    import pipeline.stages
    now, recorded = [1000.0], []
    monkeypatch.setattr(pipeline.stages.Durations, "record",
                        lambda self, key, secs, **kw: recorded.append((key, secs)))
    made = boots(monkeypatch, tmp_path, [NO_NET])
    plain = vm.boot.start_vm

    def timed(req, runner, **kw):
        now[0] += 180.0 if not made else 15.0     # the race waits out the SSH timeout
        return plain(req, runner, **kw)
    monkeypatch.setattr(vm.boot, "start_vm", timed)
    job(tmp_path, clock=lambda: now[0])
    assert recorded == [("boot:" + "k" * 64 + ":auto", 15.0)]
