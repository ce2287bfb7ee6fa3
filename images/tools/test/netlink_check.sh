#!/usr/bin/env bash
# Builds netlink_check natively and runs it in a throwaway network namespace.
# It needs root (network namespaces, bridges, veth); without root it is skipped.
set -euo pipefail
cd "$(dirname "$0")/../../.."
if [ "$(id -u)" -ne 0 ]; then
  echo "netlink_check: skipped (needs root for network namespaces)"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I images/tools/ct -o "$tmp/netlink_check" \
  images/tools/test/netlink_check.c images/tools/ct/netlink.c images/tools/ct/err.c
unshare -n "$tmp/netlink_check"
