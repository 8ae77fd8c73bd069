"""Acceleration probe: does a KVM guest really boot here, or must we use TCG?

/dev/kvm can open fine while a nested guest hangs in the decompressor, so the
answer comes from a short real boot with KVM that must reach init in time.
Answers are cached per host and kernel in cache_dir()/vm/probe.json."""
from __future__ import annotations

import hashlib
import os
import platform
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from common.errors import InfraError, UsageError
from common.fsutil import cache_dir, read_json, write_json

from .console import INIT_REACHED_RE, PANIC_RE, ConsoleCapture
from .vng import find_vng, kernel_image, stop_group, vng_argv, vng_env

KVM = "kvm"
TCG = "tcg"
ACCELS = (KVM, TCG)


@dataclass
class ProbeRequest:
    kernel: Path                      # bzImage or build dir
    accel: str | None = None          # kvm/tcg: skip the probe (--accel)
    timeout: float = 25.0             # seconds the KVM boot gets to reach init
    cache: Path | None = None         # probe.json; default cache_dir()/vm/probe.json
    refresh: bool = False             # ignore a cached answer
    kvm_dev: Path = Path("/dev/kvm")
    vng: Path | None = None


@dataclass
class ProbeResult:
    accel: str          # kvm or tcg
    reason: str         # why
    source: str         # forced, cached, probed, no-kvm
    key: str = ""       # cache key (host + kernel)
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def host_id() -> str:
    """What makes KVM work or not on a host: its name, kernel and CPU model."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}|{platform.release()}|{model}"


def probe_key(kernel: Path, host: str | None = None) -> str:
    h = hashlib.sha256()
    h.update((host if host is not None else host_id()).encode())
    with open(kernel_image(kernel), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:32]


def kvm_usable(dev: Path) -> bool:
    try:
        fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


def probe_accel(req: ProbeRequest, runner, boot=None) -> ProbeResult:
    """Decide kvm or tcg. `boot(req, runner) -> (reached_init, why)` does the probe
    boot (the real one by default; tests pass a fake)."""
    if req.accel is not None:
        if req.accel not in ACCELS:
            raise UsageError(f"--accel must be one of {', '.join(ACCELS)}, not {req.accel!r}")
        return ProbeResult(req.accel, f"--accel {req.accel}", "forced")
    if not kvm_usable(req.kvm_dev):
        return ProbeResult(TCG, f"cannot open {req.kvm_dev} read-write", "no-kvm")
    key = probe_key(req.kernel)
    cache = req.cache or cache_dir() / "vm" / "probe.json"
    table = _load(cache)
    if not req.refresh and key in table:
        hit = table[key]
        return ProbeResult(hit["accel"], hit["reason"], "cached", key, 0.0)
    start = time.monotonic()
    ok, why = (boot or kvm_boot_reaches_init)(req, runner)
    took = time.monotonic() - start
    res = ProbeResult(KVM if ok else TCG, why, "probed", key, round(took, 1))
    table[key] = {"accel": res.accel, "reason": res.reason, "when": time.time()}
    write_json(cache, table)
    return res


def _load(cache: Path) -> dict:
    try:
        data = read_json(cache)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def kvm_boot_reaches_init(req: ProbeRequest, runner) -> tuple[bool, str]:
    """Boot the kernel with KVM, no SSH, and watch the console for init."""
    vng = req.vng or find_vng()
    with tempfile.TemporaryDirectory(prefix="kharness-probe-") as home:
        log = Path(home) / "console.log"
        argv = vng_argv(vng, kernel_image(req.kernel), kvm=True, cpus=1, memory="512M",
                        append=[])
        proc = runner.popen(argv, env=vng_env(vng, Path(home)), stdout=subprocess.PIPE)
        try:
            console = ConsoleCapture(proc.stdout, log)
            deadline = time.monotonic() + req.timeout
            while time.monotonic() < deadline:
                lines = console.lines()
                if any(INIT_REACHED_RE.search(line) for line in lines):
                    took = req.timeout - (deadline - time.monotonic())
                    return True, f"KVM guest reached init in {took:.1f}s"
                if any(PANIC_RE.search(line) for line in lines):
                    return False, "KVM guest panicked during the probe boot"
                if proc.poll() is not None and console.closed:
                    last = next((x.strip() for x in reversed(console.lines()) if x.strip()), "")
                    return False, (f"KVM probe VM exited with {proc.returncode} before init"
                                   + (f": {last[:200]}" if last else ""))
                console.wait_change(0.5)
            return False, f"KVM guest did not reach init within {req.timeout:.0f}s"
        except OSError as e:
            raise InfraError(f"KVM probe failed to run: {e}") from e
        finally:
            stop_group(proc)
