#!/usr/bin/env bash
# Builds the ctlab guest from Debian packages only and writes it to public/images/:
# kernel (bzImage), initramfs archives, SeaBIOS, and manifest.json.
# Run as `npm run build:images` on Debian 12; installs its own apt needs (as root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=$root/public/images
work=${CTLAB_BUILD_DIR:-$root/.build/images}
mkdir -p "$work" "$out"

bash "$here/apt-deps.sh"

# CTLAB_KEEP_KERNEL=1: the committed bzImage stays (Debian's archive keeps only the newest
# linux-source, so an older kernel cannot be rebuilt); only the source tree is unpacked, for the
# initramfs tools it holds. The manifest keeps that kernel's release and source version.
if [ "${CTLAB_KEEP_KERNEL:-}" = 1 ] && [ -f "$out/bzImage" ]; then
  echo "== kernel: kept ($out/bzImage)"
  CTLAB_UNPACK_ONLY=1 bash "$here/kernel/build.sh" "$work" "$out/bzImage"
else
  echo "== kernel"
  bash "$here/kernel/build.sh" "$work" "$out/bzImage"
fi
echo "== tools"
bash "$here/tools/build.sh" "$work/tools"
echo "== initramfs"
bash "$here/initramfs/build.sh" "$work" "$out"
echo "== bios"
cp /usr/share/seabios/bios.bin "$out/seabios.bin"
echo "== manifest"
node "$here/manifest.mjs" "$out" "$work"
