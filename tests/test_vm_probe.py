"""The acceleration probe's decisions and its per-host, per-kernel cache."""
import json

import pytest

from common.errors import UsageError
from vm import probe as probe_mod
from vm.probe import ProbeRequest, probe_accel, probe_key


@pytest.fixture
def kernel(tmp_path):
    k = tmp_path / "bzImage"
    k.write_bytes(b"kernel-one")
    return k


@pytest.fixture
def kvm_dev(tmp_path):
    dev = tmp_path / "kvm"
    dev.write_bytes(b"")
    return dev


class Boot:
    def __init__(self, ok, why="why"):
        self.ok, self.why, self.calls = ok, why, 0

    def __call__(self, req, runner):
        self.calls += 1
        return self.ok, self.why


def req(kernel, kvm_dev, tmp_path, **kw):
    return ProbeRequest(kernel, cache=tmp_path / "cache" / "probe.json", kvm_dev=kvm_dev, **kw)


def test_forced_accel_skips_everything(kernel, tmp_path):
    boot = Boot(True)
    res = probe_accel(ProbeRequest(kernel, accel="tcg", kvm_dev=tmp_path / "none"), None, boot)
    assert (res.accel, res.source, boot.calls) == ("tcg", "forced", 0)
    res = probe_accel(ProbeRequest(kernel, accel="kvm", kvm_dev=tmp_path / "none"), None, boot)
    assert (res.accel, res.source) == ("kvm", "forced")


def test_bad_forced_accel_is_usage_error(kernel):
    with pytest.raises(UsageError, match="--accel"):
        probe_accel(ProbeRequest(kernel, accel="hvf"), None, Boot(True))


def test_no_kvm_device_means_tcg_without_a_boot(kernel, tmp_path):
    boot = Boot(True)
    res = probe_accel(req(kernel, tmp_path / "missing-kvm", tmp_path), None, boot)
    assert (res.accel, res.source, boot.calls) == ("tcg", "no-kvm", 0)


def test_kvm_boot_that_reaches_init_selects_kvm_and_is_cached(kernel, kvm_dev, tmp_path):
    boot = Boot(True, "reached init in 2.0s")
    r = req(kernel, kvm_dev, tmp_path)
    first = probe_accel(r, None, boot)
    assert (first.accel, first.source, first.reason) == ("kvm", "probed", "reached init in 2.0s")
    again = probe_accel(r, None, boot)
    assert (again.accel, again.source, boot.calls) == ("kvm", "cached", 1)
    table = json.loads(r.cache.read_text())
    assert table[first.key]["accel"] == "kvm"


def test_hanging_kvm_boot_selects_tcg(kernel, kvm_dev, tmp_path):
    boot = Boot(False, "KVM guest did not reach init within 25s")
    res = probe_accel(req(kernel, kvm_dev, tmp_path), None, boot)
    assert res.accel == "tcg" and "did not reach init" in res.reason


def test_cache_is_per_kernel_and_refresh_reprobes(kernel, kvm_dev, tmp_path):
    boot = Boot(False)
    probe_accel(req(kernel, kvm_dev, tmp_path), None, boot)
    other = tmp_path / "other-bzImage"
    other.write_bytes(b"kernel-two")
    probe_accel(req(other, kvm_dev, tmp_path), None, boot)
    assert boot.calls == 2
    probe_accel(req(kernel, kvm_dev, tmp_path, refresh=True), None, boot)
    assert boot.calls == 3


def test_key_depends_on_host_and_kernel(kernel, tmp_path):
    assert probe_key(kernel, "host-a") != probe_key(kernel, "host-b")
    assert probe_key(kernel, "host-a") == probe_key(kernel, "host-a")
    build = tmp_path / "build" / "arch" / "x86" / "boot"
    build.mkdir(parents=True)
    (build / "bzImage").write_bytes(b"kernel-one")
    assert probe_key(tmp_path / "build", "host-a") == probe_key(kernel, "host-a")


def test_corrupt_cache_is_ignored(kernel, kvm_dev, tmp_path):
    r = req(kernel, kvm_dev, tmp_path)
    r.cache.parent.mkdir(parents=True)
    r.cache.write_text("{not json")
    res = probe_accel(r, None, Boot(True))
    assert res.source == "probed"


def test_real_probe_boot_reads_the_console(kernel, kvm_dev, tmp_path, monkeypatch):
    """kvm_boot_reaches_init on a fake vng that prints a console and hangs."""
    script = tmp_path / "vng"
    script.write_text("#!/bin/sh\necho 'Linux version 6.12'\n"
                      "echo '[ 1.0] Run /sbin/init as init process'\nexec sleep 60\n")
    script.chmod(0o755)
    from common.proc import Runner
    ok, why = probe_mod.kvm_boot_reaches_init(
        ProbeRequest(kernel, timeout=10, vng=script), Runner())
    assert ok and "reached init" in why
    script.write_text("#!/bin/sh\necho 'qemu: failed to set MSR'\nexit 6\n")
    ok, why = probe_mod.kvm_boot_reaches_init(
        ProbeRequest(kernel, timeout=10, vng=script), Runner())
    assert not ok and "exited with 6" in why and "MSR" in why
    script.write_text("#!/bin/sh\necho 'Decompressing Linux...'\nexec sleep 60\n")
    ok, why = probe_mod.kvm_boot_reaches_init(
        ProbeRequest(kernel, timeout=1.5, vng=script), Runner())
    assert not ok and "did not reach init" in why
