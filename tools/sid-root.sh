#!/usr/bin/env bash
# sid-root.sh — a Debian sid root holding Debian's python3.14 and python3.15.
#
# Debian 12 ships no 3.14 or 3.15; sid's binary packages are in Debian's
# archive, which is all the network this project may rely on. mmdebstrap
# builds the root in about a minute (~400 MB). The interpreters are stripped
# and non-PIE like Debian 12's 3.11, which is the case giltrace most needs
# to get right; the -dev packages carry CPython's internal headers, from
# which tools/layouts/measure.py measures the layout rows
# (docs/cpython-layouts.md).
#
# The root is kept outside any clone (default /var/cache/giltrace/sid-root,
# or $GILTRACE_SID_ROOT), so that every clone and CI run on a machine shares
# it. Idempotent: a complete root made for today's package list is kept.
# Safe to run twice at once (a lock beside the root). A new root is built
# beside the old one and renamed into place, so nothing is ever deleted but
# what this script built: the root it replaces is kept until the next
# replacement (a suite may still be running in it), and a directory at that
# path that this script did not make is never touched.
# Usage: tools/sid-root.sh [DIR]     prints DIR on success.
set -euo pipefail

dir=${1:-${GILTRACE_SID_ROOT:-/var/cache/giltrace/sid-root}}
dir=${dir%/}
case $dir in
  /*) ;;
  *) dir=$PWD/$dir ;;
esac
# libdeflate0: what a machine with giltrace installed has (plain LD_PRELOAD
# runs compress their traces with it).
packages=(python3.14 python3.15 libpython3.14-dev libpython3.15-dev libdeflate0
  libpython3.14-testsuite libpython3.15-testsuite python3.14-dbg)
marker="giltrace sid root: ${packages[*]}"
made_by_us() { [[ -f $1/.giltrace-complete ]] && grep -q '^giltrace sid root: ' "$1/.giltrace-complete"; }

complete() {
  for p in python3.14 python3.15; do [[ -x $dir/usr/bin/$p ]] || return 1; done
  [[ $(cat "$dir/.giltrace-complete" 2>/dev/null) == "$marker" ]]
}

if complete; then
  echo "$dir"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "sid-root: building $dir needs root (mmdebstrap's root mode)" >&2
  exit 1
fi
if ! command -v mmdebstrap >/dev/null 2>&1; then
  echo "sid-root: mmdebstrap is missing (tools/install-deps.sh installs it)" >&2
  exit 1
fi
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if complete; then # built by another run while this one waited
  echo "$dir"
  exit 0
fi
if [[ -e $dir ]] && ! made_by_us "$dir"; then
  echo "sid-root: $dir exists and is not a root this script made; not touching it" >&2
  exit 1
fi

new=$dir.new.$$
trap 'rm -rf --one-file-system --preserve-root=all "$new"' EXIT
# The archive's sid Release file is past its Valid-Until date (seen
# 2026-12): without the option apt refuses it.
include=$(IFS=,; echo "${packages[*]}")
if ! mmdebstrap --quiet --variant=apt --aptopt='Acquire::Check-Valid-Until "false"' \
    --include="$include" sid "$new" >&2; then
  echo "sid-root: mmdebstrap failed (is Debian's archive reachable?)" >&2
  exit 1
fi
echo "$marker" >"$new/.giltrace-complete"

# Roots replaced last time: nothing runs in them any more, unless
# something is mounted there (then they wait for another replacement).
for old in "$dir".old.*; do
  [[ -d $old ]] && made_by_us "$old" || continue
  if grep -q " ${old}[/ ]" /proc/self/mountinfo; then
    continue
  fi
  rm -rf --one-file-system --preserve-root=all "$old"
done
if [[ -e $dir ]]; then
  mv "$dir" "$dir.old.$$"
fi
mv "$new" "$dir"
trap - EXIT
echo "$dir"
