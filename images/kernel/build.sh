#!/usr/bin/env bash
# Builds the guest kernel: Debian's linux-source-6.1, ARCH=i386, tinyconfig + ctlab.config.
# Usage: kernel/build.sh WORKDIR OUTFILE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1 out=$2
tarball=$(ls /usr/src/linux-source-6.1.tar.xz)
src=$work/linux-source-6.1

# Unpack once per source package version; the build tree is reused across rebuilds.
stamp=$work/.source-version
version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
if [ ! -d "$src" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$version" ]; then
  rm -rf "$src"; mkdir -p "$work"
  echo "kernel: unpacking linux-source-6.1 $version"
  tar -C "$work" -xf "$tarball"
  echo "$version" > "$stamp"
fi

[ "${CTLAB_UNPACK_ONLY:-}" = 1 ] && exit 0

# Fixed build identity so the same inputs give the same bzImage.
export KBUILD_BUILD_TIMESTAMP="2026-01-01 00:00:00 UTC" KBUILD_BUILD_USER=ctlab \
       KBUILD_BUILD_HOST=ctlab KBUILD_BUILD_VERSION=1
mk() { make -C "$src" ARCH=i386 -j"$(nproc)" "$@"; }

mk -s tinyconfig
(cd "$src" && ARCH=i386 scripts/kconfig/merge_config.sh -m .config "$here/ctlab.config" >/dev/null)
mk -s olddefconfig

# Every option the fragment asks for must survive olddefconfig (a dependency may drop it silently).
missing=0
while IFS= read -r line; do
  case "$line" in
    CONFIG_*=*) grep -qxF "$line" "$src/.config" || { echo "kernel: option lost: $line" >&2; missing=1; } ;;
    "# CONFIG_"*" is not set") grep -qxF "$line" "$src/.config" || { echo "kernel: option not unset: $line" >&2; missing=1; } ;;
  esac
done < "$here/ctlab.config"
[ $missing = 0 ] || exit 1

echo "kernel: compiling (a few minutes on 2 cores)"
mk -s bzImage
cp "$src/arch/x86/boot/bzImage" "$out"
