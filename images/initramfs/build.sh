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

# The busybox container template: its directories belong to the id that unprivileged containers'
# root maps to (CT_IDMAP_BASE in tools/ct/ct.h), so container root owns its own /. Its busybox is
# a hard link to the host's: stored once, and owned by host root, so no container can change it.
tpl=/usr/share/ct/templates/busybox
ctroot=100000
skeleton() {  # PREFIX UID
  for d in / /bin /sbin /usr /usr/bin /usr/sbin /dev /proc /sys /run /tmp /mnt /root /etc /var /var/lib /home; do
    mode=755; [ "$d" = /tmp ] && mode=1777; [ "$d" = /root ] && mode=700
    [ -n "$1${d%/}" ] && echo "dir $1${d%/} $mode $2 $2"
  done
}
# Busybox's own list of its applets and where each goes. A host kernel without i386 support cannot
# run it: then the same Debian version's amd64 build (same configuration) tells.
applets() {
  if "$busybox" true 2>/dev/null; then "$busybox" --list-full; return; fi
  local version dir=$work/busybox-amd64
  version=$(dpkg-query -W -f '${Version}' busybox-static:i386)
  if [ ! -x "$dir/bin/busybox" ]; then
    rm -rf "$dir" && mkdir -p "$dir"
    (cd "$dir" && { apt-get download -q "busybox-static:amd64=$version" || apt-get download -q busybox-static:amd64; } >&2 && dpkg-deb -x busybox-static_*.deb .)
  fi
  "$dir/bin/busybox" --list-full
}
base=$work/base.list
{
  skeleton "" 0
  for d in /usr/share /usr/share/ct /usr/share/ct/templates; do echo "dir $d 755 0 0"; done
  skeleton "$tpl" "$ctroot"
  echo "nod /dev/console 600 0 0 c 5 1"
  echo "nod /dev/null 666 0 0 c 1 3"
  echo "file /bin/busybox $busybox 755 0 0 $tpl/bin/busybox"
  # Every applet as a symlink at the path busybox itself lists for it, on the host and in the template.
  applets | sort | while read -r applet; do
    [ "$applet" = bin/busybox ] && continue
    echo "slink /$applet /bin/busybox 777 0 0"
    echo "slink $tpl/$applet /bin/busybox 777 $ctroot $ctroot"
  done
} > "$base"
"$gen" -t 0 "$base" > "$out/base.cpio"

tools=$work/ctlab.list
{
  echo "file /init $here/init 755 0 0"
  for f in inittab profile hostname passwd group; do
    echo "file /etc/$f $here/etc/$f 644 0 0"
  done
  # ctlab's C tools (from images/tools); ct is also the template's /sbin/ct-init (a hard link).
  for t in "$work"/tools/*; do
    case "$(basename "$t")" in
      ct) echo "file /usr/bin/ct $t 755 0 0 $tpl/sbin/ct-init" ;;
      # The demo workloads run in containers: a hard link into the template too.
      ctdemo) echo "file /usr/bin/ctdemo $t 755 0 0 $tpl/usr/bin/ctdemo" ;;
      *) echo "file /usr/bin/$(basename "$t") $t 755 0 0" ;;
    esac
  done
  # ctnet (netbench.c) is ct under another name, on the host and in containers.
  echo "slink /usr/bin/ctnet /usr/bin/ct 777 0 0"
  echo "slink $tpl/usr/bin/ctnet /sbin/ct-init 777 0 0"
  for f in "$here"/template/etc/*; do
    echo "file $tpl/etc/$(basename "$f") $f 644 $ctroot $ctroot"
  done
} > "$tools"
"$gen" -t 0 "$tools" > "$out/ctlab.cpio"
