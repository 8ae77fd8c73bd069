#!/usr/bin/env bash
# Idempotent set-up: Debian packages the pipeline needs, then the pinned venv.
# Not root or no apt: print what is missing and go on (the venv still gets made).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(qemu-system-x86 clang-19 llvm-19 lld-19 dwarves flex bison bc cpio libelf-dev
      libssl-dev libcap-dev zlib1g-dev libzstd-dev ccache busybox-static openssh-server
      openssh-client rsync git gcc make kmod xz-utils python3-venv sparse b4 iproute2 procps
      redis-server gcc-12-aarch64-linux-gnu
      chromium fonts-dejavu-core)   # tests only: report.html in a headless browser

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || echo "setup: apt-get update failed; trying with the current lists"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing Debian packages (not root or no apt-get): ${missing[*]}" >&2
    echo "setup: install them with: sudo apt-get install ${missing[*]}" >&2
  fi
fi

stamp=.venv/.req-$(sha256sum requirements.txt | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "setup: creating .venv from requirements.txt"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  rm -f .venv/.req-*
  touch "$stamp"
fi
