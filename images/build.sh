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

echo "== kernel"
bash "$here/kernel/build.sh" "$work" "$out/bzImage"
echo "== tools"
bash "$here/tools/build.sh" "$work/tools"
echo "== initramfs"
bash "$here/initramfs/build.sh" "$work" "$out"
echo "== bios"
cp /usr/share/seabios/bios.bin "$out/seabios.bin"
echo "== manifest"
node "$here/manifest.mjs" "$out" "$work"
