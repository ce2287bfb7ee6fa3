#!/usr/bin/env bash
# Builds ctlab's in-guest C tools as static i386 binaries into OUTDIR, against musl (Debian's
# musl-dev:i386): ct is 160 KB with musl and 820 KB with static glibc, and every container runs it
# as its init. Usage: tools/build.sh OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
mkdir -p "$out"
# musl's headers plus the kernel's uapi headers (linux-libc-dev's x86 asm headers serve i386 too).
uapi=$out/.uapi
mkdir -p "$uapi"
ln -sfn /usr/include/linux "$uapi/linux"
ln -sfn /usr/include/asm-generic "$uapi/asm-generic"
ln -sfn "/usr/include/$(gcc -dumpmachine)/asm" "$uapi/asm"
CFLAGS=(-m32 -march=i686 -specs /usr/lib/i386-linux-musl/musl-gcc.specs -isystem "$uapi"
        -static -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -s -Wl,-m,elf_i386)
for main in "$here"/*/main.c; do
  dir=$(dirname "$main"); name=$(basename "$dir")
  gcc "${CFLAGS[@]}" -o "$out/$name" "$dir"/*.c
done
