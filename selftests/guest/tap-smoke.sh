#!/bin/sh
# A small KTAP-emitting check of the guest, for the tap-smoke suite: it needs
# nothing beyond a shell, so it runs on the smallest kernel the harness boots.
# Usage: tap-smoke.sh [hang]  -- "hang" adds a test that never finishes.
n=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { # NAME [OUTPUT]: OUTPUT becomes "# " diagnostic lines
    n=$((n + 1)); echo "not ok $n $1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'
    return 0
}
check() { # NAME COMMAND...
    name=$1; shift
    if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$out"; fi
}
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }

plan=6
[ "${1:-}" = hang ] && plan=7
echo "KTAP version 1"
echo "1..$plan"
check proc_version grep -q '^Linux version' /proc/version
check root_is_readonly_9p sh -c 'grep -q "^[^ ]* / 9p ro[,]" /proc/mounts'
check tmp_is_private_tmpfs sh -c 'grep -q "^[^ ]* /tmp tmpfs " /proc/mounts'
check tmp_writable sh -c 'f=$(mktemp /tmp/kh.XXXXXX) && echo x > "$f" && rm "$f"'
check sysctl_ostype sh -c 'test "$(cat /proc/sys/kernel/ostype)" = Linux'
if [ -e /sys/fs/bpf ]; then
    check bpffs_mounted sh -c 'grep -q " /sys/fs/bpf bpf " /proc/mounts'
else
    skip bpffs_mounted "kernel has no BPF syscall"
fi
if [ "${1:-}" = hang ]; then
    sleep 100000
    ok hang_never_reached
fi
