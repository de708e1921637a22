#!/usr/bin/env bash
# sid-root.sh — a Debian sid root holding Debian's python3.14 and python3.15.
#
# Debian 12 ships no 3.14 or 3.15; sid's binary packages are in Debian's
# archive, which is all the network this project may rely on. mmdebstrap
# builds the root in about a minute (~400 MB). The interpreters are stripped
# and non-PIE like Debian 12's 3.11, which is the case giltrace most needs
# to get right; the -dev packages carry CPython's internal headers, from
# which tools/measure-layouts.sh measures the layout rows (docs/cpython-layouts.md).
#
# Idempotent: an existing, complete root is kept.
# The root is kept outside any clone (default /var/cache/giltrace/sid-root, or
# $GILTRACE_SID_ROOT), so that every clone and CI run on a machine shares it.
# Usage: tools/sid-root.sh [DIR]
#        prints DIR on success.
set -euo pipefail

dir=${1:-${GILTRACE_SID_ROOT:-/var/cache/giltrace/sid-root}}
pythons=(python3.14 python3.15)
# libdeflate0: what a machine with giltrace installed has (plain LD_PRELOAD
# runs compress their traces with it).
packages=(python3.14 python3.15 libpython3.14-dev libpython3.15-dev libdeflate0)
marker="giltrace sid root: ${packages[*]}"

complete() {
  for p in "${pythons[@]}"; do [[ -x $dir/usr/bin/$p ]] || return 1; done
  # Made by this script with today's package list?
  [[ $(cat "$dir/.giltrace-complete" 2>/dev/null) == "$marker" ]]
}

if complete; then
  echo "$dir"
  exit 0
fi
if ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "sid-root: mmdebstrap is missing (tools/install-deps.sh installs it)" >&2
  exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "sid-root: building $dir needs root (mmdebstrap's root mode)" >&2
  exit 1
fi
# A half-built root (interrupted run), or one made for another package
# list, is ours to replace: the marker is written last. Anything else at
# that path is not touched.
if [[ -e $dir ]]; then
  if [[ -n $(ls -A "$dir" 2>/dev/null) && ! -e $dir/.giltrace-complete &&
        ! -e $dir/etc/debian_version ]]; then
    echo "sid-root: $dir exists and is not a root this script made; not touching it" >&2
    exit 1
  fi
  umount "$dir/proc" 2>/dev/null || true
  rm -rf --one-file-system "$dir"
fi
mkdir -p "$(dirname "$dir")"
# The archive's sid Release file is past its Valid-Until date (seen
# 2026-12): without the option apt refuses it.
include=$(IFS=,; echo "${packages[*]}")
if ! mmdebstrap --quiet --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
    --include="$include" sid "$dir" >&2; then
  echo "sid-root: mmdebstrap failed (is Debian's archive reachable?)" >&2
  exit 1
fi
echo "$marker" >"$dir/.giltrace-complete"
echo "$dir"
