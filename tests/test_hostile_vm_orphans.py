"""Issue 25, no orphans even on SIGKILL, and the qemu guard: qemu gets a
parent-death signal, `restrict=on` on its user network and its pid recorded;
a SIGKILLed harness's VM is reaped by its watchdog at once, and by the next run
if the watchdog died too; that run says what it cleaned. As root, the guard
hides host secrets from qemu (and so from the guest's 9p view of /)."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_hostile_vm_proc import gone_soon, procs_with

ROOT = Path(__file__).resolve().parents[1]
GUARD = ROOT / "vm" / "guard.py"


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def run_guard(tmp_path, args, **env):
    full = dict(os.environ, **env)
    return subprocess.run([sys.executable, str(GUARD), *args], env=full, capture_output=True,
                          text=True, timeout=30)


def test_guard_restricts_the_user_network_and_records_qemu_pid(tmp_path):
    out = tmp_path / "args"
    fake = script(tmp_path / "qemu", f'echo "$$ $*" > {out}\n')
    res = run_guard(tmp_path, ["-kernel", "/k", "-netdev", "user,id=ssh,hostfwd=tcp:127.0.0.1:5-:22",
                               "-netdev", "bridge,id=b"],
                    KHARNESS_QEMU=str(fake), KHARNESS_QEMU_PIDFILE=str(tmp_path / "pid"),
                    KHARNESS_HIDE="0")
    assert res.returncode == 0, res.stderr
    pid, args = out.read_text().split(" ", 1)
    assert args.split() == ["-kernel", "/k", "-netdev",
                            "user,id=ssh,hostfwd=tcp:127.0.0.1:5-:22,restrict=on",
                            "-netdev", "bridge,id=b"]
    assert (tmp_path / "pid").read_text().strip() == pid       # exec: qemu has the guard's pid


@pytest.mark.skipif(os.geteuid() != 0, reason="a mount namespace needs root")
def test_guard_hides_host_secrets_but_keeps_what_the_guest_needs(tmp_path):
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "f").write_text("needed\n")
    secret = Path("/tmp") / f"kh-secret-{os.getpid()}"
    secret.write_text("secret\n")
    report = keep / "report"
    fake = script(keep / "qemu", f"""
{{ wc -c < /etc/shadow; cat {keep}/f; cat {secret} 2>/dev/null || echo hidden-tmp;
  ls -A /root | tr '\\n' ' '; echo; [ -e /.dockerenv ] && echo docker || echo none;
  pwd; }} > {report}
""")
    try:
        res = subprocess.run([sys.executable, str(GUARD), "-kernel", str(keep / "f"),
                              "-fsdev", "local,id=root,path=/,readonly=on"],  # virtme's 9p /
                             env=dict(os.environ, KHARNESS_QEMU=str(fake), KHARNESS_HIDE="1",
                                      KHARNESS_KEEP=str(keep)),
                             cwd=keep, capture_output=True, text=True, timeout=30)
    finally:
        secret.unlink()
    assert res.returncode == 0, res.stderr
    shadow, needed, tmp, root, marker, cwd = report.read_text().splitlines()[:6]
    assert Path("/etc/shadow").stat().st_size > 0 and shadow.strip() == "0"
    assert needed == "needed" and "hidden-tmp" in tmp
    assert root.strip() == ""                        # /root is an empty tmpfs there
    assert marker == "none" and cwd == str(keep)     # no /.dockerenv, even on a Docker host
    assert Path("/etc/shadow").read_text()           # the host's own view is untouched


NEW_ROOT_CHILD = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
from vm import guard
keep, name = sys.argv[2], sys.argv[3]
os.chdir(keep)
hidden = guard.hide([keep])
gone = guard.without_top({name}, guard.scratch_dir(hidden, [keep]))
print(json.dumps({"gone": gone, "listed": sorted(os.listdir("/")), "cwd": os.getcwd(),
                  "kept": open("f").read(), "shadow": os.path.getsize("/etc/shadow"),
                  "hidden": {d: os.listdir(d) for d in guard.HIDE_DIRS
                             if os.path.isdir(d) and not keep.startswith(d + "/")}}))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="a mount namespace needs root")
def test_guard_new_root_lacks_only_the_named_top_level_entry(tmp_path):
    """without_top on an entry every Debian root has (the real marker, /.dockerenv,
    exists only on a Docker host): the entry is gone, everything else is the same
    hidden view, the cwd is kept, and every hidden dir is as empty as hide() left
    it (the scratch dir the copy was made in shows neither the copy nor its
    mount point)."""
    name = next(n for n in ("srv", "mnt", "opt", "media") if Path("/" + n).is_dir())
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "f").write_text("needed\n")
    res = subprocess.run([sys.executable, "-c", NEW_ROOT_CHILD, str(ROOT), str(keep), name],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)
    assert got["gone"] == ["/" + name]
    assert got["listed"] == sorted(set(os.listdir("/")) - {name})
    assert got["cwd"] == str(keep) and got["kept"] == "needed\n" and got["shadow"] == 0
    assert all(v == [] for v in got["hidden"].values()), got["hidden"]
    assert got["hidden"]                              # the scratch dir among them
    assert Path("/" + name).is_dir()                 # the host keeps it


HARNESS = """
import sys, pathlib
sys.path.insert(0, sys.argv[1])
from common.proc import Runner
from vm.boot import VMRequest, start_vm
from vm.probe import ProbeResult
tmp = pathlib.Path(sys.argv[2])
req = VMRequest(kernel=tmp / "bzImage", rwdir=tmp / "rw", console_log=tmp / "console.log",
                boot_timeout=120, vng=tmp / "vng")
with start_vm(req, Runner(), probe=ProbeResult("tcg", "test", "forced")):
    pass
"""


def boot_and_kill(tmp_path, tag: str, kill_watchdog: bool):
    """A harness boots a fake VM (vng forks the guarded qemu, which leaves a
    setsid'd helper behind) and is SIGKILLed while it waits for SSH."""
    (tmp_path / "bzImage").write_bytes(b"k")
    script(tmp_path / "qemu", f"(setsid sleep {tag}1 &)\nexec sleep {tag}0\n")
    script(tmp_path / "vng", "echo booting\nqemu-system-x86_64 -netdev user,id=ssh &\nwait\n")
    cache = tmp_path / "cache"
    env = dict(os.environ, HARNESS_CACHE=str(cache), KHARNESS_QEMU_BIN=str(tmp_path / "qemu"),
               KHARNESS_GUEST_HIDE="0")
    harness = subprocess.Popen([sys.executable, "-c", HARNESS, str(ROOT), str(tmp_path)],
                               env=env)
    deadline = time.monotonic() + 20
    while len(procs_with(f"{tag}0") + procs_with(f"{tag}1")) < 2:
        assert time.monotonic() < deadline, "the fake VM never started"
        time.sleep(0.05)
    records = list((cache / "vms").glob("*.json"))
    assert len(records) == 1
    rec = json.loads(records[0].read_text())
    assert Path(rec["home"]).is_dir() and int((cache / "vms" / (rec["token"] + ".qemu"))
                                                .read_text()) == procs_with(f"{tag}0")[0]
    if kill_watchdog:
        for p in procs_with(str(records[0])):
            os.kill(p, signal.SIGKILL)
    harness.send_signal(signal.SIGKILL)
    harness.wait(10)
    return cache, records[0], rec


def test_sigkilled_harness_vm_is_reaped_by_its_watchdog_and_reported(tmp_path, monkeypatch):
    cache, record, rec = boot_and_kill(tmp_path, "41.5", kill_watchdog=False)
    try:
        assert gone_soon("41.50") and gone_soon("41.51"), "qemu outlived the harness"
        deadline = time.monotonic() + 10
        while not json.loads(record.read_text()).get("reaped"):
            assert time.monotonic() < deadline, "the watchdog did not reap the VM"
            time.sleep(0.05)
        assert not Path(rec["home"]).exists()
        monkeypatch.setenv("HARNESS_CACHE", str(cache))
        from vm.state import cleanup_stale
        lines = cleanup_stale()
        assert len(lines) == 1 and f"pid {rec['harness_pid']}" in lines[0]
        assert f"removed its temp home {rec['home']}" in lines[0] and "watchdog" in lines[0]
        assert not record.exists() and cleanup_stale() == []
    finally:
        for p in procs_with("41.50") + procs_with("41.51"):
            os.kill(p, signal.SIGKILL)


def test_next_run_reaps_a_vm_whose_watchdog_died_too(tmp_path, monkeypatch):
    cache, record, rec = boot_and_kill(tmp_path, "42.5", kill_watchdog=True)
    try:
        assert gone_soon("42.50"), "qemu outlived vng (parent-death signal)"
        assert procs_with("42.51") and Path(rec["home"]).is_dir()     # escaped, left behind
        monkeypatch.setenv("HARNESS_CACHE", str(cache))
        from vm.state import cleanup_stale
        lines = cleanup_stale()
        assert len(lines) == 1 and "killed 1 process(es)" in lines[0], lines
        assert f"removed its temp home {rec['home']}" in lines[0]
        assert gone_soon("42.51") and not Path(rec["home"]).exists() and not record.exists()
    finally:
        for p in procs_with("42.50") + procs_with("42.51"):
            os.kill(p, signal.SIGKILL)


def test_the_watchdog_waits_for_the_records_lock_and_never_brings_a_record_back(
        tmp_path, monkeypatch):
    """The next run's cleanup and a dead run's watchdog can reach the same record at
    once; the watchdog wrote back a record the cleanup had just removed (the hostile
    guest test failed on it once). While the lock is held the watchdog does nothing;
    a record removed under it stays removed."""
    from vm.state import new_record, records_lock
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    home = tmp_path / "kharness-vm-x"
    home.mkdir()
    rec = new_record("kh-locktest" + "0" * 21, home)
    rec.harness_pid, rec.harness_start = 999_999_999, 1     # a dead owner
    rec.save()
    env = dict(os.environ, HARNESS_CACHE=str(tmp_path / "cache"))
    with records_lock():
        dog = subprocess.Popen([sys.executable, "-m", "vm.watchdog", str(rec.path), "0"],
                               cwd=ROOT, env=env, stdin=subprocess.DEVNULL)
        time.sleep(1.5)                                # it has its EOF: only the lock holds it
        assert dog.poll() is None and home.exists()
        assert json.loads(rec.path.read_text())["reaped"] is None
        rec.remove()                                   # the cleanup got there first
    assert dog.wait(timeout=20) == 0
    assert not rec.path.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="a mount namespace needs root")
def test_guard_starts_qemu_with_a_warning_when_no_new_root_can_be_made(tmp_path):
    """Every hidden dir bound back whole leaves no private tmpfs to build the new
    root in: the marker stays (a udev naming matter, not a secret), qemu starts."""
    report = tmp_path / "report"
    fake = script(tmp_path / "qemu", f"wc -c < /etc/shadow > {report}\n")
    keep = os.pathsep.join([str(tmp_path)] + [d for d in guard_dirs() if Path(d).is_dir()])
    res = run_guard(tmp_path, ["-kernel", str(fake)], KHARNESS_QEMU=str(fake),
                    KHARNESS_HIDE="1", KHARNESS_KEEP=keep)
    assert res.returncode == 0, res.stderr
    assert report.read_text().strip() == "0"             # the secrets are still hidden
    assert "warning: /.dockerenv stays in the guest's view of /" in res.stderr


def guard_dirs() -> list[str]:
    sys.path.insert(0, str(ROOT))
    from vm import guard
    return guard.HIDE_DIRS
