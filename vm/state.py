"""The VMs this host's harness runs have, on disk: one record per VM under
`cache_dir()/vms/` naming the harness process that owns it (pid and start
time), the VM's tree token (common.proc.TOKEN_VAR, in the environment of vng,
qemu and everything they start), its temp home, and qemu's pid once the qemu
guard (vm/guard.py) has written it.

`cleanup_stale()` runs before every boot: a record whose owner is gone (killed,
SIGKILL included) has its processes killed by token and its temp home removed,
and says what it cleaned. A VM's watchdog (vm/watchdog.py) does the same the
moment its harness dies, and leaves the record, marked, for the next run to
report. Both hold `records_lock()` while they read, reap and write or remove a
record: without it a watchdog that loaded the record before the next run's
cleanup removed it wrote it back afterwards, and the record stayed (seen once
in the hostile-guest integration test).
"""
from __future__ import annotations

import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common.fsutil import cache_dir, exclusive_lock, write_json
from common.proc import kill_token, proc_start

HOME_PREFIX = "kharness-vm-"


def state_dir() -> Path:
    return cache_dir() / "vms"


@contextmanager
def records_lock():
    """One exclusive lock over the VM records, for a read-reap-write or -remove."""
    with exclusive_lock(state_dir() / ".lock"):
        yield


@dataclass
class VMRecord:
    token: str
    home: str
    harness_pid: int
    harness_start: int | None
    started: float = field(default_factory=time.time)
    vng_pid: int | None = None
    reaped: dict | None = None        # what the watchdog did when the harness died

    @property
    def path(self) -> Path:
        return state_dir() / f"{self.token}.json"

    @property
    def qemu_pidfile(self) -> Path:
        return state_dir() / f"{self.token}.qemu"

    def qemu_pid(self) -> int | None:
        try:
            return int(self.qemu_pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def save(self) -> None:
        write_json(self.path, asdict(self))

    def remove(self) -> None:
        for p in (self.path, self.qemu_pidfile):
            p.unlink(missing_ok=True)

    def owner_alive(self) -> bool:
        return self.harness_start is not None and \
            proc_start(self.harness_pid) == self.harness_start


def new_record(token: str, home: Path) -> VMRecord:
    return VMRecord(token, str(home), os.getpid(), proc_start(os.getpid()))


def load(path: Path) -> VMRecord | None:
    try:
        return VMRecord(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def reap(rec: VMRecord) -> dict:
    """Kill the VM's processes (by token) and remove its temp home."""
    qemu = rec.qemu_pid()
    killed = kill_token(rec.token)
    home = Path(rec.home)
    removed = home.name.startswith(HOME_PREFIX) and home.exists()
    if removed:
        shutil.rmtree(home, ignore_errors=True)
    return {"killed": killed, "qemu_pid": qemu if qemu in killed else None,
            "home_removed": str(home) if removed else None, "at": time.time()}


def describe(rec: VMRecord, done: dict) -> str:
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec.started))
    what = []
    if done.get("killed"):
        qemu = f" (qemu pid {done['qemu_pid']})" if done.get("qemu_pid") else ""
        what.append(f"killed {len(done['killed'])} process(es) "
                    f"{' '.join(map(str, done['killed']))}{qemu}")
    if done.get("home_removed"):
        what.append(f"removed its temp home {done['home_removed']}")
    return (f"cleaned up a VM left by a dead harness run (pid {rec.harness_pid}, VM started "
            f"{started}): " + ("; ".join(what) or "nothing was left"))


def cleanup_stale() -> list[str]:
    """Reap every VM whose harness is gone; one line per VM saying what was done
    (by this call, or by the VM's watchdog when its harness died)."""
    if not state_dir().is_dir():
        return []
    with records_lock():
        return [line for path in sorted(state_dir().glob("*.json"))
                for line in _cleanup_one(path)]


def _cleanup_one(path: Path) -> list[str]:
    """What cleanup_stale did about one record (nothing while its owner lives)."""
    rec = load(path)
    if rec is None:
        path.unlink(missing_ok=True)
        return [f"removed an unreadable VM record {path}"]
    if rec.owner_alive():
        return []
    done = reap(rec)
    if rec.reaped:
        done = {"killed": rec.reaped.get("killed", []) + done["killed"],
                "qemu_pid": rec.reaped.get("qemu_pid") or done["qemu_pid"],
                "home_removed": rec.reaped.get("home_removed") or done["home_removed"]}
    rec.remove()
    return [describe(rec, done) + (" (its watchdog had reaped it)" if rec.reaped else "")]
