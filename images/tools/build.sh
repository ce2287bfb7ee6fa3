#!/usr/bin/env bash
# Builds ctlab's in-guest C tools as static i386 binaries into OUTDIR.
# Usage: tools/build.sh OUTDIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$1
mkdir -p "$out"
CFLAGS=(-m32 -march=i686 -static -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -s)
for main in "$here"/*/main.c; do
  [ -e "$main" ] || continue
  dir=$(dirname "$main"); name=$(basename "$dir")
  gcc "${CFLAGS[@]}" -o "$out/$name" "$dir"/*.c
done
