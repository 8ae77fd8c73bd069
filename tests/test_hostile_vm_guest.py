"""Issue 25 on a real VM (the small kernel under TCG): `harness.py boot` is
SIGKILLed while the VM boots; its qemu dies at once, and the next run reports
and cleans up what the dead run left (record, temp home with the SSH key).
That next VM is contained: the host's /etc/shadow, /root and /home are not
visible, and a server on the host's 127.0.0.1 cannot be reached through the
user network's gateway, while SSH and a test suite still work."""
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from common.proc import Runner, tree_pids
from selftests.run import SuiteRequest, run_suite
from selftests.suite import load_suite
from vm.boot import VMRequest, start_vm

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]


def request(kernel, out: Path) -> VMRequest:
    return VMRequest(kernel=kernel, rwdir=out / "rw", console_log=out / "console.log",
                     accel="tcg", cpus=1, memory="512M", boot_timeout=240, run_timeout=900)


@pytest.fixture
def host_server():
    """A real HTTP server on the host's loopback only."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def wait_for(cond, secs: float, what: str):
    deadline = time.monotonic() + secs
    while not cond():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def kill_during_boot(kernel, tmp_path, env) -> tuple[int, dict]:
    out = tmp_path / "killed"
    child = subprocess.Popen([sys.executable, str(ROOT / "harness.py"), "boot",
                              "--accel", "tcg", "--cpus", "1", "--memory", "512M",
                              "--out", str(out), str(kernel), "--", "true"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    vms = Path(env["HARNESS_CACHE"]) / "vms"
    wait_for(lambda: list(vms.glob("*.qemu")) and (out / "console.log").exists()
             and (out / "console.log").stat().st_size > 0, 60, "qemu never started")
    rec = json.loads(next(vms.glob("*.json")).read_text())
    qemu = int((vms / f"{rec['token']}.qemu").read_text())
    assert "qemu" in Path(f"/proc/{qemu}/cmdline").read_bytes().decode(errors="replace")
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    return qemu, rec


def test_sigkill_in_boot_is_cleaned_up_and_the_guest_is_contained(small_kernel, tmp_path,
                                                                   monkeypatch, host_server):
    cache = tmp_path / "cache"
    monkeypatch.setenv("HARNESS_CACHE", str(cache))
    qemu, rec = kill_during_boot(small_kernel, tmp_path, dict(os.environ))
    wait_for(lambda: not Path(f"/proc/{qemu}").exists() or
             Path(f"/proc/{qemu}/stat").read_text().split(") ")[1][0] == "Z",
             10, "qemu outlived the SIGKILLed harness")
    said = []
    with start_vm(request(small_kernel, tmp_path / "next"), Runner(echo=said.append)) as vm:
        assert any(f"dead harness run (pid {rec['harness_pid']}" in s and rec["home"] in s
                   for s in said), said
        assert not Path(rec["home"]).exists() and not list((cache / "vms").glob(
            f"{rec['token']}*"))
        assert tree_pids(None, rec["token"]) == set()

        # virtme's guest has its own /etc/shadow mounted over the host's; the
        # host's is reachable under it in the 9p root, as root in the guest can
        host = set(Path("/etc/shadow").read_text().splitlines())
        assert host
        # (a non-recursive bind of / shows the 9p root without the guest's mounts)
        view = vm.exec("mkdir -p /tmp/host && mount --bind / /tmp/host && "
                       "ls /tmp/host/etc/passwd && cat /etc/shadow /tmp/host/etc/shadow", 60)
        assert view.rc == 0 and "/tmp/host/etc/passwd" in view.stdout, view
        assert not host & set(view.stdout.splitlines())
        for top in ("/root", "/tmp/host/root"):
            assert set(vm.exec(["ls", "-A", top], 30).stdout.split()) <= {".cache"}
        for top in ("/home", "/tmp/host/home"):
            assert vm.exec(["ls", "-A", top], 30).stdout.split() == []
        # the network is there (SSH comes in through it, hostfwd) ...
        probe = vm.exec(["bash", "-c", f"exec 3<>/dev/tcp/10.0.2.2/{host_server} && echo REACHED"],
                        30)
        assert probe.rc != 0 and "REACHED" not in probe.stdout     # ... the host is not

        res = run_suite(SuiteRequest(load_suite("tap-smoke"), tmp_path / "tap"), vm)
        assert res.ok, res.statuses
        assert vm.containment["host_secrets_hidden"] is True
        token = vm.proc.kh_token
    assert tree_pids(None, token) == set()
