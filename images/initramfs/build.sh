#!/usr/bin/env bash
# Builds the two initramfs archives the kernel joins at boot:
#   base.cpio  — busybox and the directory skeleton; changes only with Debian's busybox-static;
#   ctlab.cpio — /init, /etc and ctlab's own tools; small, rebuilt often.
# Uncompressed on purpose: the guest boots ~1 s faster than with gzip (guest-facts.md).
# Usage: initramfs/build.sh WORKDIR OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$1 out=$2
mkdir -p "$work" "$out"

# The kernel's own cpio writer: device nodes and owners without root, fixed timestamps.
gen=$work/gen_init_cpio
[ -x "$gen" ] || gcc -O2 -o "$gen" "$work/linux-source-6.1/usr/gen_init_cpio.c"

busybox=/bin/busybox
file "$busybox" | grep -q 'ELF 32-bit LSB executable, Intel 80386' \
  || { echo "initramfs: $busybox is not the i386 busybox-static" >&2; exit 1; }

base=$work/base.list
{
  for d in /bin /sbin /usr /usr/bin /usr/sbin /dev /proc /sys /run /tmp /mnt /root /etc /var /var/lib; do
    echo "dir $d 755 0 0"
  done
  echo "nod /dev/console 600 0 0 c 5 1"
  echo "nod /dev/null 666 0 0 c 1 3"
  echo "file /bin/busybox $busybox 755 0 0"
  # Every applet as a symlink at the path busybox itself lists for it.
  "$busybox" --list-full | sort | while read -r applet; do
    [ "$applet" = bin/busybox ] && continue
    echo "slink /$applet /bin/busybox 777 0 0"
  done
} > "$base"
sed -i 's|^dir /tmp 755|dir /tmp 1777|' "$base"
"$gen" -t 0 "$base" > "$out/base.cpio"

tools=$work/ctlab.list
{
  echo "file /init $here/init 755 0 0"
  for f in inittab profile hostname passwd group; do
    echo "file /etc/$f $here/etc/$f 644 0 0"
  done
  # ctlab's C tools (from images/tools) land here once built.
  for t in "$work"/tools/*; do
    [ -e "$t" ] && echo "file /usr/bin/$(basename "$t") $t 755 0 0"
  done
} > "$tools"
"$gen" -t 0 "$tools" > "$out/ctlab.cpio"
