#!/usr/bin/env bash
# Builds and runs the host-side tests of ctlab's in-guest C code. Every *_test.c here is compiled
# for this machine (not the guest) together with the ct sources named on its first line, e.g.
# "// sources: json.c base64.c", under ASan and UBSan. Each binary ends with "N passed, M failed".
# Usage: bash images/tools/test/run.sh  (from any directory); exits non-zero if any test fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ct=$(cd "$here/../ct" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

CFLAGS=(-std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I "$ct")
SANITIZE=(-fsanitize=address,undefined -fno-sanitize-recover=all)
if ! echo 'int main(void) { return 0; }' | cc "${SANITIZE[@]}" -x c -o "$out/probe" - 2>/dev/null; then
  echo "run.sh: no sanitizer runtime for cc here: building the tests WITHOUT ASan/UBSan" >&2
  SANITIZE=()
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

shopt -s nullglob
tests=("$here"/*_test.c)
if [ ${#tests[@]} -eq 0 ]; then
  echo "run.sh: no *_test.c in $here" >&2
  exit 1
fi
status=0
for src in "${tests[@]}"; do
  name=$(basename "$src" .c)
  first=$(head -n 1 "$src")
  if [[ $first != "// sources:"* ]]; then
    echo "$name: the first line must be '// sources: file.c ...' (ct sources to link)" >&2
    status=1
    continue
  fi
  read -r -a sources <<< "${first#// sources:}"
  echo "== $name (with ${sources[*]})"
  if ! cc "${CFLAGS[@]}" "${SANITIZE[@]}" -o "$out/$name" "$src" "${sources[@]/#/$ct/}"; then
    echo "$name: build failed" >&2
    status=1
    continue
  fi
  if ! "$out/$name"; then
    echo "$name: FAILED" >&2
    status=1
  fi
done
exit $status
