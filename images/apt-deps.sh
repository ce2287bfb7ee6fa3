#!/usr/bin/env bash
# The Debian packages the guest build needs; installs only what is missing.
# No gcc-multilib: its libc6-dev-i386 conflicts with musl-dev:i386; lib32gcc-12-dev is all -m32 needs.
set -euo pipefail
pkgs=(linux-source-6.1 busybox-static:i386 musl-dev:i386 lib32gcc-12-dev seabios build-essential bc flex bison
      libelf-dev cpio lz4 xz-utils file zstd)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "apt: installing ${missing[*]}"
[ "$(id -u)" = 0 ] || { echo "apt: run as root, or install: ${missing[*]}" >&2; exit 1; }
dpkg --print-foreign-architectures | grep -qx i386 || dpkg --add-architecture i386
apt-get update -q || true   # a mirror mid-sync fails one index; the install below says if it matters
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
