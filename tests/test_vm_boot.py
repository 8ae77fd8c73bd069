"""Boot plumbing without a VM: vng command line, guest command guards, the
per-run key, teardown, and boot-failure detection with a fake vng."""
import os
import time
from pathlib import Path

import pytest

from common.proc import Runner
from common.errors import InfraError
from vm import boot as boot_mod
from vm.boot import VM, VMBootError, VMRequest, VMRunTimeout, guarded, kill_line, start_vm
from vm.keys import load_public_key, new_client_key
from vm.probe import ProbeResult
from vm.ssh import ExecResult
from vm.vng import group_alive, stop_group, vng_argv, vng_env

TCG = ProbeResult("tcg", "test", "forced")


def test_vng_argv_read_only_root_one_rwdir_ssh_tcp(tmp_path):
    argv = vng_argv(Path("/v/vng"), Path("/k/bzImage"), kvm=False, cpus=3, memory="1G",
                    append=["quiet"], rwdir=tmp_path, ssh_port=4242)
    assert argv[:3] == ["/v/vng", "--run", "/k/bzImage"]
    assert "--rw" not in argv and argv.count("--rwdir") == 1
    assert argv[argv.index("--rwdir") + 1] == str(tmp_path)
    assert argv[argv.index("--ssh") + 1] == "4242" and "--ssh-tcp" in argv
    assert "--disable-kvm" in argv and "--verbose" in argv
    assert argv[argv.index("--cpus") + 1] == "3" and argv[argv.index("--memory") + 1] == "1G"
    appended = [argv[i + 1] for i, a in enumerate(argv) if a == "--append"]
    assert appended == ["root=/dev/root", "panic=-1", "quiet"]
    kvm = vng_argv(Path("/v/vng"), Path("/k/bzImage"), kvm=True, cpus=1, memory="1G", append=[])
    assert "--disable-kvm" not in kvm and "--ssh" not in kvm and "--rwdir" not in kvm


def test_vng_env_points_home_at_the_run_dir():
    env = vng_env(Path("/venv/bin/vng"), Path("/run/home"))
    assert env["HOME"] == "/run/home" and env["PATH"].startswith("/venv/bin:")


def test_fresh_key_is_private_and_authorizable(tmp_path):
    key = new_client_key(tmp_path / ".ssh")
    assert oct(key.private_path.stat().st_mode & 0o777) == "0o600"
    assert key.public_line.startswith("ssh-ed25519 ")
    assert load_public_key(key.public_path) == key.pkey
    assert new_client_key(tmp_path / "other").public_line != key.public_line
    assert load_public_key(tmp_path / "absent.pub") is None


def test_guarded_command_is_killed_at_its_timeout():
    line, tag = guarded("echo start; sleep 30; echo never", 1)
    assert tag in line
    start = time.monotonic()
    res = Runner().run(["sh", "-c", line], timeout=20)
    assert time.monotonic() - start < 10
    assert res.returncode == 137 and res.stdout == "start\n"


def test_guarded_argv_is_quoted_not_interpreted():
    line, _ = guarded(["printf", "%s|", "a b", "$HOME", ";true"], 5)
    res = Runner().run(["sh", "-c", line], timeout=20)
    assert res.returncode == 0 and res.stdout == "a b|$HOME|;true|"


def test_kill_line_kills_the_tagged_group_and_not_itself(tmp_path):
    line, tag = guarded("sleep 60 & sleep 60; wait", 100)
    proc = Runner().popen(["sh", "-c", line])
    time.sleep(0.5)
    res = Runner().run(["sh", "-c", kill_line(tag)], timeout=20)
    assert res.returncode == 0
    proc.wait(timeout=10)
    time.sleep(0.2)
    assert not group_alive(proc.pid)


class FakeSession:
    def __init__(self):
        self.lines = []
        self.connected = True

    def exec(self, line, timeout):
        self.lines.append(line)
        return ExecResult(0, "", "", False, 0.1)


class FakeProc:
    def poll(self):
        return None


def test_vm_marks_guest_side_kill_as_timeout(tmp_path):
    vm = VM(VMRequest(tmp_path, tmp_path, tmp_path / "c.log"), TCG, FakeProc(), None,
            FakeSession(), 0, [])
    for rc, took, expect in ((137, 5.0, True), (-1, 5.2, True), (137, 1.0, False),
                             (1, 5.0, False)):
        res = vm._settle(ExecResult(rc, "", "", False, took), "kh-x", 5.0)
        assert res.timed_out is expect
    cut = vm._settle(ExecResult(None, "", "", True, 20.0), "kh-abc", 5.0)
    assert cut.timed_out and "kh-abc"[1:] in vm.session.lines[-1]


def test_stop_group_kills_children_that_ignore_sigterm():
    proc = Runner().popen(["sh", "-c", "trap '' TERM; sleep 60 & sleep 60; wait"])
    time.sleep(0.3)
    start = time.monotonic()
    stop_group(proc, grace=0.5)
    assert not group_alive(proc.pid)
    assert time.monotonic() - start < 10


def fake_vng(tmp_path, body):
    script = tmp_path / "vng"
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


def boot_req(tmp_path, vng, timeout=3.0):
    kernel = tmp_path / "bzImage"
    kernel.write_bytes(b"k")
    return VMRequest(kernel=kernel, rwdir=tmp_path / "rw", console_log=tmp_path / "console.log",
                     boot_timeout=timeout, vng=vng)


@pytest.mark.parametrize("body,kind", [
    ("echo 'Run /sbin/init as init process'\n"
     "echo 'Kernel panic - not syncing: Requested init /sbin/init failed (error -2).'\n"
     "exec sleep 60\n", "no-init"),
    ("echo 'BUG: unable to handle page fault'\n"
     "echo 'Kernel panic - not syncing: Fatal exception'\nexec sleep 60\n", "panic"),
    ("echo 'virtme-ng-init: initialization done'\nexec sleep 60\n", "no-ssh"),
    ("echo 'qemu: cannot start'\nexit 3\n", "vm-exited"),
])
def test_boot_failures_are_classified_with_console_tail(tmp_path, body, kind):
    guard = "[ -s \"$HOME/.ssh/id_ed25519.pub\" ] || { echo no key; exit 9; }\n"
    req = boot_req(tmp_path, fake_vng(tmp_path, guard + body))
    before = set(os.listdir("/tmp"))
    with pytest.raises(VMBootError) as err:
        with start_vm(req, Runner(), probe=TCG):
            pytest.fail("booted a fake VM")
    assert err.value.kind == kind and err.value.exit_code == 6
    assert err.value.tail and "console lines" in str(err.value)
    assert req.console_log.read_text().splitlines()[0] == err.value.tail[0]
    left = [d for d in set(os.listdir("/tmp")) - before if d.startswith("kharness-vm-")]
    assert left == []   # the per-run home (with the private key) is gone


class HangingSession:
    """Logs in at once; a streamed command runs until the VM process dies."""

    def __init__(self, *args):
        self.connected = True
        self.proc = None

    def exec(self, line, timeout):
        return ExecResult(0, "", "", False, 0.1)

    def stream(self, line, out_path, timeout):
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        raise InfraError("SSH connection to the guest is gone")

    def close(self):
        self.connected = False


def test_run_timeout_kills_the_vm_and_its_commands_raise_a_typed_error(tmp_path, monkeypatch):
    monkeypatch.setattr(boot_mod, "SSHSession", HangingSession)
    monkeypatch.setattr(boot_mod, "_wait_for_ssh", lambda vm, home, start: None)
    req = boot_req(tmp_path, fake_vng(tmp_path, "echo booted\nexec sleep 60\n"))
    req.run_timeout = 1.0
    with start_vm(req, Runner(), probe=TCG) as vm:
        vm.session.proc = vm.proc
        start = time.monotonic()
        with pytest.raises(VMRunTimeout) as err:
            vm.stream(["sleep", "600"], tmp_path / "out.log", 600)
        assert time.monotonic() - start < 15
        assert not group_alive(vm.proc.pid) and vm.expired and not vm.alive()
        with pytest.raises(VMRunTimeout):
            vm.exec(["true"], 5)
    assert err.value.exit_code == 7 and "outlived its run timeout of 1s" in str(err.value)
