#!/bin/sh
# Prepare a virtme-ng guest for selftests, the way BPF CI does, once per boot.
# Usage: prepare.sh [PATH...]  -- host paths under /tmp that must stay visible
# at the same absolute path after the guest gets its own /tmp.
# Prints one "kh-<what> <name> <state>" line per fact; exits 0 unless /tmp
# could not be set up.
set -u
STATE=/run/kharness/prepared
LOG="$STATE.new"
say() { echo "$*" | tee -a "$LOG"; }

# bind_back PATH...: make each host path under /tmp visible again at its own
# place in the private /tmp, from the host's /tmp kept at /run/kharness/hosttmp
bind_back() {
    for p in "$@"; do
        case "$p" in
        /tmp/*)
            rel=${p#/tmp/}
            if grep -qF " $p " /proc/self/mounts; then
                say "kh-bind $p mounted $p"
            elif [ -e "/run/kharness/hosttmp/$rel" ] && mkdir -p "$p" &&
                mount --rbind "/run/kharness/hosttmp/$rel" "$p"; then
                say "kh-bind $p mounted $p"
            else
                say "kh-bind $p failed $p"
            fi
            ;;
        esac
    done
}

# A later suite of the same boot: the guest is prepared, but this suite may
# need other paths (Landlock's kselftests run from their own install dir).
if [ -f "$STATE" ]; then
    cat "$STATE"
    LOG=/dev/null
    bind_back "$@"
    exit 0
fi
mkdir -p /run/kharness
: > "$LOG"

# mount_fs NAME FSTYPE DIR: mounted, present (already there), unsupported
# (kernel lacks the fs) or failed
mount_fs() {
    if grep -qs " $3 $2 " /proc/mounts; then
        say "kh-mount $1 present $3"
    elif ! grep -qw "$2" /proc/filesystems; then
        say "kh-mount $1 unsupported $3"
    elif mkdir -p "$3" 2>/dev/null; mount -t "$2" "$1" "$3" 2>/dev/null; then
        say "kh-mount $1 mounted $3"
    else
        say "kh-mount $1 failed $3"
    fi
}
mount_fs bpf bpf /sys/fs/bpf
mount_fs tracefs tracefs /sys/kernel/tracing
mount_fs debugfs debugfs /sys/kernel/debug
mount_fs cgroup2 cgroup2 /sys/fs/cgroup

# A private, writable /tmp (tmpfs) instead of the overlay over the host's /tmp;
# host paths below /tmp that the run needs are bound back at the same place.
# A later suite in the same boot runs this again (above): /tmp is private already
# and its paths are bound back from where the first run put the host's /tmp.
mkdir -p /run/kharness/hosttmp
if grep -qF " /run/kharness/hosttmp " /proc/self/mounts; then
    say "kh-tmp tmpfs mounted /tmp"
elif mount --rbind /tmp /run/kharness/hosttmp && mount -t tmpfs -o mode=1777 kh-tmp /tmp; then
    say "kh-tmp tmpfs mounted /tmp"
else
    say "kh-tmp tmpfs failed /tmp"
    exit 1
fi
bind_back "$@"

# The limits every test command raises for itself (see selftests/guest.py);
# checked here so the run records what the guest allows.
if (ulimit -l unlimited) 2>/dev/null; then say "kh-rlimit memlock ok unlimited"
else say "kh-rlimit memlock failed unlimited"; fi
if (ulimit -n 65536) 2>/dev/null; then say "kh-rlimit nofile ok 65536"
else say "kh-rlimit nofile failed 65536"; fi
say "kh-kernel release ok $(uname -r)"
mv "$STATE.new" "$STATE"
