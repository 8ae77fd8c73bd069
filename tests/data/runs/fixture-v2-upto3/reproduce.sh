#!/usr/bin/env bash
# Reproduce job kharness-fixture@v2~3:small:gcc:kharness-fixture (kharness-fixture/v2-upto3/small-gcc-kharness-fixture).
# Default: run the same job again with the harness (warm caches are reused).
# With --by-hand: run the commands the harness ran, in order, without it.
set -euo pipefail
cd /work/main
if [ "${1:-}" != "--by-hand" ]; then
  exec ./harness.py run --tree debian-6.12 --profile small --toolchain gcc kharness-fixture@v2 --suite kharness-fixture --upto 3
fi
GIT_AUTHOR_EMAIL=kharness@localhost GIT_AUTHOR_NAME=kharness GIT_COMMITTER_EMAIL=kharness@localhost GIT_COMMITTER_NAME=kharness GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 LC_ALL=C git --git-dir=/root/.cache/kharness/trees/debian-6.12 -c gc.auto=0 -c core.hooksPath=/dev/null rev-parse --verify --quiet 'v6.12.117^{commit}'
cd /root/.cache/kharness/worktrees/debian-6.12/kharness-fixture/v2 && GIT_AUTHOR_EMAIL=kharness@localhost GIT_AUTHOR_NAME=kharness GIT_COMMITTER_EMAIL=kharness@localhost GIT_COMMITTER_NAME=kharness GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 LC_ALL=C git -c gc.auto=0 -c core.hooksPath=/dev/null status --porcelain --untracked-files=no
cd /root/.cache/kharness/worktrees/debian-6.12/kharness-fixture/v2 && GIT_AUTHOR_EMAIL=kharness@localhost GIT_AUTHOR_NAME=kharness GIT_COMMITTER_EMAIL=kharness@localhost GIT_COMMITTER_NAME=kharness GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 LC_ALL=C git -c gc.auto=0 -c core.hooksPath=/dev/null rev-parse HEAD
nice -n 10 make -C /root/.cache/kharness/worktrees/debian-6.12/kharness-fixture/v2 O=/root/.cache/kharness/kconfig/debian-6.12/small-gcc ARCH=x86_64 tinyconfig
nice -n 10 make -C /root/.cache/kharness/worktrees/debian-6.12/kharness-fixture/v2 O=/root/.cache/kharness/kconfig/debian-6.12/small-gcc ARCH=x86_64 olddefconfig
git -C /root/.cache/kharness/worktrees/debian-6.12/kharness-fixture/v2 rev-parse HEAD
git -C /root/.cache/kharness/worktrees/debian-6.12/kharness-fixture/v2 status --porcelain --untracked-files=no -- . ':(exclude)tools/testing/selftests'
make --version
gcc --version
ld --version
flex --version
bison --version
bc --version
ccache --version
CCACHE_BASEDIR=/root/.cache/kharness/worktrees/debian-6.12/kharness-fixture/v2 CCACHE_DIR=/root/.cache/kharness/ccache CCACHE_NOHASHDIR=true KBUILD_BUILD_HOST=kharness KBUILD_BUILD_TIMESTAMP=2025-01-01 KBUILD_BUILD_USER=kharness KBUILD_BUILD_VERSION=1 nice -n 10 make -C /root/.cache/kharness/worktrees/debian-6.12/kharness-fixture/v2 O=/root/.cache/kharness/worktrees/debian-6.12/kharness-fixture/v2/.kharness-build -j2 ARCH=x86_64 'CC=ccache gcc'
HOME=/tmp/kharness-probe-muk0srv5 PATH=/work/main/.venv/bin:/root/.cargo/bin:/root/.cargo/bin:/root/.pyenv/plugins/pyenv-virtualenv/shims:/root/.pyenv/shims:/root/.pyenv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /work/main/.venv/bin/vng --run /root/.cache/kharness/kbuild/artifacts/b0f285519be95d05b11c15e658a646022e6a1e5f969a57851a6d28cff75a5fe6/bzImage --verbose --force-9p --disable-monitor --cpus 1 --memory 512M --qemu-opts=-no-reboot --append root=/dev/root --append panic=-1
HOME=/tmp/kharness-vm-9zdpkkb_ PATH=/work/main/.venv/bin:/root/.cargo/bin:/root/.cargo/bin:/root/.pyenv/plugins/pyenv-virtualenv/shims:/root/.pyenv/shims:/root/.pyenv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /work/main/.venv/bin/vng --run /root/.cache/kharness/kbuild/artifacts/b0f285519be95d05b11c15e658a646022e6a1e5f969a57851a6d28cff75a5fe6/bzImage --verbose --force-9p --disable-monitor --cpus 1 --memory 512M --qemu-opts=-no-reboot --disable-kvm --rwdir /tmp/pytest-of-root/pytest-75/test_bisect_finds_the_breaking0/jobs/b/kharness-fixture/v2-upto3/small-gcc-kharness-fixture/guest --ssh 45701 --ssh-tcp --append root=/dev/root --append panic=-1
gcc --version
clang-19 --version
qemu-system-x86_64 --version
pahole --version
