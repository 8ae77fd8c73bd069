#!/usr/bin/env bash
# Reproduce job path-iterator@v5.1-6.12:bpf:gcc:default (path-iterator/v5.1-6.12/bpf-gcc-default).
# Default: run the same job again with the harness (warm caches are reused).
# With --by-hand [WORKDIR]: the job's own steps without the harness (git am,
# .config, make, vng boot, the suites' guest commands).
set -euo pipefail
cd /tmp/kq2
if [ "${1:-}" != "--by-hand" ]; then
  PY=python3; if [ -x .venv/bin/python ]; then PY=.venv/bin/python; fi
  exec "$PY" ./harness.py run path-iterator@v5.1-6.12
fi
# ---- by hand: job path-iterator@v5.1-6.12:bpf:gcc:default ----
# Usage: reproduce.sh --by-hand [WORKDIR]  (default: a new dir from mktemp)
R=/tmp/kq-results/20261127-162217.704551-d3fe/path-iterator/v5.1-6.12/bpf-gcc-default/reproduce
WORK=${2:-$(mktemp -d "${TMPDIR:-/tmp}/kh-byhand.XXXXXX")}
mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd)
TREE=$WORK/linux BUILD=$WORK/build BPF=$WORK/selftests-bpf
KSELFTEST=$WORK/kselftest OUT=$WORK/out RW=$WORK/guest JOBS=$(nproc)
mkdir -p "$BUILD" "$OUT" "$RW"
step() { printf "\n==== %s\n" "$*"; }
run() { printf "+ %s\n" "$*"; "$@"; }
echo "by hand: work dir $WORK (logs in $OUT)"
step 'the tree at c57c832816e2, then 10 patch(es) with git am'
export GIT_CONFIG_NOSYSTEM=1 LC_ALL=C GIT_AUTHOR_NAME=kharness GIT_AUTHOR_EMAIL=kharness@localhost GIT_COMMITTER_NAME=kharness GIT_COMMITTER_EMAIL=kharness@localhost
kgit() { run git -c gc.auto=0 -c core.hooksPath=/dev/null -C "$TREE" "$@"; }
run git -C /root/.cache/kharness/trees/debian-6.12 worktree add -q --detach "$TREE" c57c832816e22d8a1255b89dc6ba04f41270d30f
# fix-up: selftests/bpf: drop bpf_attr_size, whose BPF program is missing
kgit am --3way --committer-date-is-author-date --no-gpg-sign -p1 "$R"/patches/0001-fixup-selftests-bpf-drop-bpf_attr_size.patch
# patch: namei: Introduce new helper function path_walk_parent()
kgit am --3way --committer-date-is-author-date --no-gpg-sign -p1 "$R"/patches/0002-namei-Introduce-new-helper-function-path_walk_parent.patch
# patch: landlock: Use path_walk_parent()
kgit am --3way --committer-date-is-author-date --no-gpg-sign -p1 "$R"/patches/0003-landlock-Use-path_walk_parent.patch
# patch: bpf: Introduce path iterator
kgit am --3way --committer-date-is-author-date --no-gpg-sign -p1 "$R"/patches/0004-bpf-Introduce-path-iterator.patch
# patch: selftests/bpf: Add tests for bpf path iterator
kgit am --3way --committer-date-is-author-date --no-gpg-sign -p1 "$R"/patches/0005-selftests-bpf-Add-tests-for-bpf-path-iterator.patch
# patch: selftests/bpf: Path walk example
kgit am --3way --committer-date-is-author-date --no-gpg-sign -p1 "$R"/patches/0006-selftests-bpf-Path-walk-example.patch
# patch: namei: Fix the kernel-doc of __path_walk_parent()
kgit am --3way --committer-date-is-author-date --no-gpg-sign -p1 "$R"/patches/0007-namei-Fix-the-kernel-doc-of-__path_walk_parent.patch
# patch: bpf: Invalidate paths from a path iterator when it is destroyed
kgit am --3way --committer-date-is-author-date --no-gpg-sign -p1 "$R"/patches/0008-bpf-Invalidate-paths-from-a-path-iterator-when-it-is.patch
# patch: selftests/bpf: Reject a path used after its iterator is destroyed
kgit am --3way --committer-date-is-author-date --no-gpg-sign -p1 "$R"/patches/0009-selftests-bpf-Reject-a-path-used-after-its-iterator-.patch
# patch: namei: Do not report a hidden mountpoint from path_walk_parent()
kgit am --3way --committer-date-is-author-date --no-gpg-sign -p1 "$R"/patches/0010-namei-Do-not-report-a-hidden-mountpoint-from-path_wa.patch
if [ "$(git -C "$TREE" rev-parse HEAD)" = 778fb0f3ef52a3cd7c6654144ade501f94160c0b ]; then
  echo 'HEAD 778fb0f3ef52: the same commits as the job'
else echo 'note: HEAD differs from the job'"'"'s 778fb0f3ef52' >&2; fi
step 'the job'"'"'s verified .config (its fragments merged), then olddefconfig'
run cp "$R"/config "$BUILD/.config"
run nice -n 10 make -C "${TREE}" "O=${BUILD}" ARCH=x86_64 olddefconfig
if cmp -s "$BUILD/.config" "$R"/config; then echo '.config: as the job verified it'
else echo 'warning: olddefconfig changed the job'"'"'s .config' >&2; fi
step 'the kernel'
run env KBUILD_BUILD_HOST=kharness KBUILD_BUILD_TIMESTAMP=2025-01-01 KBUILD_BUILD_USER=kharness KBUILD_BUILD_VERSION=1 nice -n 10 make -C "${TREE}" "O=${BUILD}" "-j${JOBS}" ARCH=x86_64
KERNEL=$BUILD/arch/x86/boot/bzImage
step 'the selftests'
mkdir -p "$BPF" "$KSELFTEST"
run env KBUILD_BUILD_HOST=kharness KBUILD_BUILD_TIMESTAMP=2025-01-01 KBUILD_BUILD_USER=kharness KBUILD_BUILD_VERSION=1 nice -n 10 make -C "${TREE}/tools/testing/selftests/bpf" -j2 "OUTPUT=${BPF}/" "KBUILD_OUTPUT=${BUILD}" "VMLINUX_BTF=${BUILD}/vmlinux" CLANG=clang-19 LLC=llc-19 LLVM_STRIP=llvm-strip-19 LLVM_OBJCOPY=llvm-objcopy-19 LLVM_READELF=llvm-readelf-19 test_progs
step 'boot: vng with a fresh HOME and ssh key'
VNG=${VNG:-/work/main/.venv/bin/vng}
KH_HOME=$(mktemp -d "${TMPDIR:-/tmp}/kh-byhand-home.XXXXXX")
VNG_PID=
vm_down() {
  if [ -n "$VNG_PID" ]; then
    kill -TERM -- "-$VNG_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 -- "-$VNG_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$VNG_PID" 2>/dev/null || true
  fi
  rm -rf "$KH_HOME"
}
guest() {
  HOME="$KH_HOME" ssh -F /dev/null -p "$PORT" -i "$KH_HOME/.ssh/id_ed25519" \
    -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR \
    -o StrictHostKeyChecking=yes -o HostKeyAlgorithms=ssh-ed25519 \
    -o UserKnownHostsFile="$KH_HOME/known_hosts" root@127.0.0.1 "$@"
}
wait_ssh() {  # pin the guest fresh host key (vng writes it before qemu starts), then log in
  local key=$KH_HOME/.cache/virtme-ng/.ssh/etc/ssh/ssh_host_ed25519_key.pub
  local deadline=$((SECONDS + $1))
  until [ -s "$key" ]; do
    kill -0 "$VNG_PID" 2>/dev/null || { echo "vng exited; see $OUT/console.log" >&2; exit 6; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "no host key after $1 s" >&2; exit 6; }
    sleep 1
  done
  echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$key")" > "$KH_HOME/known_hosts"
  until guest true 2>/dev/null; do
    kill -0 "$VNG_PID" 2>/dev/null || { echo "vng exited; see $OUT/console.log" >&2; exit 6; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "no ssh login after $1 s" >&2; exit 6; }
    sleep 2
  done
  echo "guest up: ssh -p $PORT root@127.0.0.1 (HOME=$KH_HOME)"
}
guest_run() {  # SECS CWD ARGV LOG: one test command as the harness runs it
  local cmd rc=0
  printf -v cmd '%s cd %q && exec %s' "$PROLOGUE" "$2" "$3"
  printf "+ guest: timeout -s KILL %s sh -c %q\n" "$1" "$cmd"
  guest "timeout -s KILL $1 sh -c $(printf %q "$cmd") kh-byhand" >"$4" 2>&1 || rc=$?
  cat "$4"
  echo "kh-byhand: $(basename "$4" .log) exit $rc"
}
trap vm_down EXIT; trap 'exit 130' INT; trap 'exit 143' TERM
mkdir -m 700 "$KH_HOME/.ssh"
ssh-keygen -q -t ed25519 -N '' -C kharness-byhand -f "$KH_HOME/.ssh/id_ed25519"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "+ HOME=$KH_HOME" "${VNG}" --run "${KERNEL}" --verbose --force-9p --disable-monitor --cpus 2 --memory 2G --qemu-opts=-no-reboot --disable-kvm --rwdir "${RW}" --ssh "${PORT}" --ssh-tcp --append root=/dev/root --append panic=-1 --append lsm=lockdown,capability,landlock,bpf
HOME="$KH_HOME" PATH="$(dirname "$VNG"):$PATH" setsid "${VNG}" --run "${KERNEL}" --verbose --force-9p --disable-monitor --cpus 2 --memory 2G --qemu-opts=-no-reboot --disable-kvm --rwdir "${RW}" --ssh "${PORT}" --ssh-tcp --append root=/dev/root --append panic=-1 --append lsm=lockdown,capability,landlock,bpf >"$OUT/console.log" 2>&1 </dev/null &
VNG_PID=$!; echo "$VNG_PID" > "$OUT/vng.pid"
wait_ssh 300
guest 'for f in "$HOME/.bashrc" /etc/bash.bashrc; do [ -f "$f" ] && mount --bind /dev/null "$f"; done; true'
step 'the suites, in the guest'
PROLOGUE='ulimit -l unlimited 2>/dev/null; ulimit -n 65536 2>/dev/null; export TMPDIR=/tmp LC_ALL=C.UTF-8;'
guest "sh $(printf %q "$R/prepare.sh") $(printf '%q ' "$WORK" "${BPF}" "${BPF}")"
# suite path-iterator
mkdir -p "$OUT"/path-iterator
CWD="${BPF}"
guest_run 300 "$CWD" './test_progs -a '"'"'*path_iter*'"'"'' "$OUT"/path-iterator/001-path_iter.log
# suite smoke
mkdir -p "$OUT"/smoke
CWD="${BPF}"
guest_run 120 "$CWD" './test_progs -a obj_name' "$OUT"/smoke/001-obj_name.log
guest_run 120 "$CWD" './test_progs -a global_data' "$OUT"/smoke/002-global_data.log
guest_run 120 "$CWD" './test_progs -a global_data_init' "$OUT"/smoke/003-global_data_init.log
guest_run 120 "$CWD" './test_progs -a skb_ctx' "$OUT"/smoke/004-skb_ctx.log
guest_run 120 "$CWD" './test_progs -a pkt_access' "$OUT"/smoke/005-pkt_access.log
guest_run 120 "$CWD" './test_progs -a map_init' "$OUT"/smoke/006-map_init.log
guest_run 120 "$CWD" './test_progs -a bpf_obj_id' "$OUT"/smoke/007-bpf_obj_id.log
guest_run 120 "$CWD" './test_progs -a prog_run_opts' "$OUT"/smoke/008-prog_run_opts.log
guest_run 120 "$CWD" './test_progs -a raw_tp_writable_test_run' "$OUT"/smoke/009-raw_tp_writable_test_run.log
guest_run 120 "$CWD" './test_progs -a xdp_adjust_tail' "$OUT"/smoke/010-xdp_adjust_tail.log
guest_run 120 "$CWD" './test_progs -a signal_pending' "$OUT"/smoke/011-signal_pending.log
guest_run 120 "$CWD" './test_progs -a btf_dump' "$OUT"/smoke/012-btf_dump.log
guest dmesg > "$OUT/dmesg.txt" || true
echo "by hand: done; raw test logs in $OUT"
echo "when done with it: git -C /root/.cache/kharness/trees/debian-6.12 worktree remove --force $TREE"
