"""CLI: `boot` (boot a kernel, run one command over SSH) and `probe` (KVM or TCG)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from common.proc import Runner


def register(subparsers) -> None:
    p = subparsers.add_parser("boot", help="boot a kernel in a VM and run a command over SSH")
    p.add_argument("kernel", type=Path, help="bzImage or kernel build (O=) dir")
    p.add_argument("--out", type=Path, default=Path("vm-out"),
                   help="results dir: console.log and the guest's writable dir (default vm-out)")
    _vm_args(p)
    p.add_argument("--timeout", type=float, default=300.0, help="command timeout (s)")
    p.add_argument("cmd", nargs="*", help="command to run in the guest (default: uname -a)")
    p.set_defaults(func=cmd_boot)

    q = subparsers.add_parser("probe", help="decide KVM or TCG for a kernel on this host")
    q.add_argument("kernel", type=Path)
    q.add_argument("--accel", choices=["kvm", "tcg"])
    q.add_argument("--refresh", action="store_true", help="ignore the cached answer")
    q.add_argument("--probe-timeout", type=float, default=25.0)
    q.set_defaults(func=cmd_probe)


def _vm_args(p) -> None:
    p.add_argument("--accel", choices=["kvm", "tcg"], help="skip the KVM probe")
    p.add_argument("--cpus", type=int, default=2)
    p.add_argument("--memory", default="2G")
    p.add_argument("--append", action="append", default=[], help="extra kernel cmdline")
    p.add_argument("--boot-timeout", type=float, default=180.0)


def cmd_boot(args) -> int:
    from .boot import VMRequest, start_vm
    out = args.out.resolve()
    req = VMRequest(kernel=args.kernel, rwdir=out / "rw", console_log=out / "console.log",
                    accel=args.accel, cpus=args.cpus, memory=args.memory,
                    append=args.append, boot_timeout=args.boot_timeout)
    cmd = args.cmd or ["uname", "-a"]
    with start_vm(req, Runner(verbose=args.verbose)) as vm:
        print(f"booted in {vm.boot_seconds:.1f}s ({vm.accel}: {vm.probe.reason})",
              file=sys.stderr)
        res = vm.exec(cmd, args.timeout)
    sys.stdout.write(res.stdout)
    sys.stderr.write(res.stderr)
    if res.timed_out:
        print(f"command timed out after {args.timeout:.0f}s", file=sys.stderr)
        return 1
    return 0 if res.rc == 0 else 1


def cmd_probe(args) -> int:
    from .probe import ProbeRequest, probe_accel
    res = probe_accel(ProbeRequest(args.kernel, accel=args.accel, timeout=args.probe_timeout,
                                   refresh=args.refresh), Runner(verbose=args.verbose))
    print(json.dumps(res.to_dict(), indent=2))
    return 0
