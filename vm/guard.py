#!/usr/bin/env python3
"""Stands in for qemu-system-x86_64 on vng's PATH (vm.vng.guard_env) and execs
the real qemu (KHARNESS_QEMU), so the qemu process itself is contained:

- a parent-death signal: qemu gets SIGKILL when vng dies (vng gets one when the
  harness dies, SIGKILL included), so no qemu outlives the harness;
- its pid goes to KHARNESS_QEMU_PIDFILE (the VM's state record, vm.state);
- `-netdev user,...` gets `restrict=on`: the guest reaches neither the host
  (127.0.0.1 services through the 10.0.2.2 gateway) nor the outside; the SSH
  `hostfwd` into the guest still works;
- with KHARNESS_HIDE=1 (and root), qemu runs in a private mount namespace where
  host secrets are hidden from virtme's 9p view of `/`: HIDE_FILES read as
  empty, HIDE_DIRS are empty tmpfs, except the paths in KHARNESS_KEEP
  (os.pathsep-separated) and the files named in qemu's own arguments, which
  are bound back in place;
- in that namespace, qemu also gets a root without the container marker files
  (CONTAINER_MARKERS): on a Docker host the guest's 9p view of `/` holds
  /.dockerenv, so the guest's systemd-udevd takes itself for a container and
  reads "the kernel command line" from PID 1's argv instead of /proc/cmdline.
  It then misses virtme's `net.ifnames=0` and renames eth0 to enp0sN while the
  DHCP client is setting eth0 up: the race vm.console.network_race names.

Only the standard library: it runs under whatever python3 is first on PATH.
"""
from __future__ import annotations

import ctypes
import glob
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
CLONE_NEWNS = 0x00020000
MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
MNT_DETACH = 2

HIDE_DIRS = ["/root", "/home", "/tmp", "/var/tmp", "/run/user"]
HIDE_FILES = ["/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
              "/etc/ssh/ssh_host_*_key", "/etc/ssl/private/*"]
# Top-level files that tell systemd (virt.c, detect_container_files) it runs in a
# container. /run/.containerenv needs nothing: the guest mounts its own /run.
CONTAINER_MARKERS = ["/.dockerenv"]
NEW_ROOT = ".kharness-root"
HIDDEN_TMPFS = "mode=0755,size=1m"     # what a hidden dir shows: an empty tmpfs

_libc = ctypes.CDLL(None, use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def mount(src: str | None, target: str, fstype: str | None, flags: int,
          data: str | None = None) -> None:
    enc = (lambda s: s.encode() if s is not None else None)
    _check(_libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def under(path: str, top: str) -> bool:
    return path == top or path.startswith(top.rstrip("/") + "/")


def hidden_targets() -> tuple[list[str], list[str]]:
    """(dirs, files) that exist, outermost dirs only."""
    dirs = []
    for d in sorted(HIDE_DIRS):
        if os.path.isdir(d) and not os.path.islink(d) and not any(under(d, o) for o in dirs):
            dirs.append(d)
    files = sorted({f for pat in HIDE_FILES for f in glob.glob(pat)
                    if os.path.isfile(f) and not os.path.islink(f)})
    return dirs, files


def argv_paths(args: list[str]) -> list[str]:
    """Absolute host paths that qemu's arguments name (kernel, 9p exports, ...)."""
    out = []
    for arg in args:
        for part in arg.split(","):
            value = part.split("=", 1)[-1]
            if value.startswith("/") and os.path.exists(value):
                out.append(value)
    return out


def hide(keep: list[str]) -> list[str]:
    """In a new private mount namespace, hide the secrets; bind `keep` back.
    Returns what was hidden."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    dirs, files = hidden_targets()
    # only paths inside a hidden dir are bound back: `/` (the 9p export of the
    # whole root) or /etc do not unhide anything
    real = sorted({os.path.realpath(k) for k in keep if os.path.exists(k)}, key=len)
    # a hidden dir kept whole is not hidden: binding it back over its tmpfs would
    # bring that tmpfs along (the bind is recursive) and show it empty
    dirs = [d for d in dirs if d not in real]
    inside = []
    for k in real:
        if any(under(k, d) for d in dirs) and not any(under(k, o) for o in inside):
            inside.append(k)
    fds = {k: os.open(k, os.O_PATH) for k in inside}
    shown = [f for f in files if any(under(f, k) for k in inside)]
    for f in files:
        if f not in shown:
            mount("/dev/null", f, None, MS_BIND)
    for d in dirs:
        mount("tmpfs", d, "tmpfs", MS_NOSUID | MS_NODEV, HIDDEN_TMPFS)
    for k, fd in fds.items():
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(k, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(k), exist_ok=True)
            open(k, "a").close()
        mount(f"/proc/self/fd/{fd}", k, None, MS_BIND | MS_REC)
        os.close(fd)
    return dirs + [f for f in files if f not in shown]


def without_top(names: set[str], scratch: str) -> list[str]:
    """Chroot into a copy of `/` that lacks the top-level entries `names`; returns
    the ones that were there. A file cannot be made absent by a mount, only its
    directory can be replaced, so the copy is a tmpfs at scratch/NEW_ROOT with
    every other top-level entry bound (recursively) or linked into it. `scratch`
    must be a tmpfs private to this namespace (a hidden dir, nothing kept in it):
    the copy's mount point is made there. The cwd is kept (it names the same
    place in the copy). Call it after hide(), so the copy carries the hidden view."""
    present = sorted(n for n in names if os.path.lexists("/" + n))
    if not present:
        return []
    cwd = os.getcwd()
    top = os.path.join(scratch, NEW_ROOT)
    os.mkdir(top, 0o755)
    mount("tmpfs", top, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
    for name in sorted(set(os.listdir("/")) - names):
        src, dst = "/" + name, os.path.join(top, name)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        elif os.path.isdir(src):
            os.mkdir(dst)
            mount(src, dst, None, MS_BIND | MS_REC)
        else:
            open(dst, "a").close()
            mount(src, dst, None, MS_BIND)
    os.chdir(top)
    _check(_libc.chroot(b"."), "chroot")
    # the recursive bind of scratch's top dir brought a copy of the new root
    # along, and its mount point would show in the guest: drop the copy and give
    # scratch a fresh empty tmpfs, as hide() left it (nothing is kept in it)
    _check(_libc.umount2(top.encode(), MNT_DETACH), f"umount {top}")
    mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, HIDDEN_TMPFS)
    os.chdir(cwd)
    return ["/" + n for n in present]


def scratch_dir(hidden: list[str], keep: list[str]) -> str:
    """A dir hide() made an empty private tmpfs with nothing of `keep` bound back
    into it (without_top covers it again with an empty one)."""
    kept = {os.path.realpath(k) for k in keep if os.path.exists(k)}
    for d in hidden:
        if os.path.isdir(d) and not any(under(k, d) for k in kept):
            return d
    raise OSError(0, "no hidden tmpfs dir without kept paths to make a new root in")


def restrict(args: list[str]) -> list[str]:
    """`restrict=on` on every user-mode (slirp) netdev."""
    out = list(args)
    for i, arg in enumerate(out[:-1]):
        nxt = out[i + 1]
        if arg == "-netdev" and nxt.startswith("user,") and "restrict=" not in nxt:
            out[i + 1] = nxt + ",restrict=on"
    return out


def contain(keep: list[str]) -> None:
    """hide() the host secrets (OSError: qemu must not start), then drop the
    container markers from `/`. A marker that stays costs the guest its
    net.ifnames=0, not a secret: that is a warning, and qemu starts."""
    hidden = hide(keep)
    try:
        without_top({m.lstrip("/") for m in CONTAINER_MARKERS}, scratch_dir(hidden, keep))
    except OSError as e:
        print(f"kharness qemu guard: warning: {', '.join(CONTAINER_MARKERS)} stays in the "
              f"guest's view of / ({e}); its udev may rename the NIC", file=sys.stderr)


def main(argv: list[str]) -> None:
    _check(_libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl")
    real = os.environ.get("KHARNESS_QEMU")
    if not real:
        sys.exit("kharness qemu guard: KHARNESS_QEMU is not set")
    args = argv[1:]
    if "--version" not in args and "-version" not in args and "-h" not in args:
        args = restrict(args)
        pidfile = os.environ.get("KHARNESS_QEMU_PIDFILE")
        if pidfile:
            with open(pidfile, "w") as f:
                f.write(f"{os.getpid()}\n")
        if os.environ.get("KHARNESS_HIDE") == "1":
            keep = [k for k in os.environ.get("KHARNESS_KEEP", "").split(os.pathsep) if k]
            try:
                contain(keep + argv_paths(args))
            except OSError as e:
                sys.exit(f"kharness qemu guard: cannot hide host secrets from the guest ({e}); "
                         f"KHARNESS_GUEST_HIDE=0 boots without hiding them")
    os.execv(real, [real] + args)


if __name__ == "__main__":
    main(sys.argv)
