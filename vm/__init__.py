"""VM stage: boot a kernel under virtme-ng (QEMU), talk to it over SSH.

Public API
----------
vm.boot.VMRequest(kernel, rwdir, console_log, accel=None, cpus=2, memory="2G",
                  append=[], boot_timeout=180.0, run_timeout=None, probe_timeout=25.0,
                  probe_cache=None, vng=None, user="root", visible=[])
vm.boot.start_vm(req, runner, *, probe=None) -> context manager yielding VM
    Boots `vng --run` with the host root read-only, `req.rwdir` as the only
    writable host dir, `--ssh --ssh-tcp` on a free 127.0.0.1 port, the console
    streamed to `req.console_log` from the first byte. Waits for SSH (fresh
    ed25519 key per run, guest host key pinned) and always tears the VM down:
    SIGTERM to vng's process group, then SIGKILL, then a check that no process
    of the group (qemu) is left.
    Raises vm.boot.VMBootError (a BootError, exit 6) with .kind = "panic" |
    "no-init" | "no-ssh" | "no-network" | "vm-exited" and .tail = the last 50 console lines.
    `run_timeout` (see selftests.run.vm_budget): past it the VM is killed,
    VM.expired is set, and VM.exec/stream raise vm.boot.VMRunTimeout (a
    StageTimeout, exit 7); VM.raise_if_expired() raises it on demand.
VM.exec(cmd, timeout) -> vm.ssh.ExecResult(rc, stdout, stderr, timed_out, duration)
    `cmd` is an argv list (quoted for the guest) or a guest shell line. Runs under
    `timeout -s KILL` in the guest; past timeout + 15 s the host cuts it off and
    kills its process group through a second SSH channel. rc is None when cut
    off on the host, -1 when the command was killed by a signal.
VM.stream(cmd, out_path, timeout) -> ExecResult   stdout+stderr appended to
    out_path as they arrive (stdout/stderr fields empty).
VM.alive() -> bool;  VM.crash() -> vm.console.BootFailure | None;  VM.accel;
VM.probe (ProbeResult); VM.console (ConsoleCapture: lines(), tail(n)).
vm.probe.probe_accel(ProbeRequest(kernel, accel=None, timeout=25.0, cache=None,
                     refresh=False), runner) -> ProbeResult(accel, reason, source,
                     key, seconds)
    kvm only when a short KVM boot reaches init in time; cached per host and
    kernel image in cache_dir()/vm/probe.json; `accel` forces the answer.
vm.ssh.SSHSession, vm.ssh.PinnedHostKeyPolicy: the paramiko layer (only the fresh VM's own host key).

Containment and orphans (issue 25):
    qemu starts through vm/guard.py (first on vng's PATH): a parent-death
    signal, its pid recorded, `restrict=on` on the user network (the guest
    reaches neither host loopback services nor the outside; the SSH hostfwd
    works), and as root a private mount namespace hiding host secrets
    (/etc/shadow, /root, /home, /tmp, ... except the paths the guest needs:
    vm.vng.keep_paths + VMRequest.visible). VM.containment says what applied.
    vm.state: one record per VM under cache_dir()/vms; start_vm first reaps
    and reports the VMs of dead runs (cleanup_stale). vm/watchdog.py reaps a
    VM as soon as its harness dies (SIGKILL included) and enforces the VM's
    lifetime limit (run_timeout, else vm.boot.MAX_LIFETIME) from outside.

CLI (vm/cli.py): `harness.py boot KERNEL [-- CMD...]`, `harness.py probe KERNEL`.
"""
