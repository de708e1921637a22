#!/usr/bin/env bash
# sid_python.sh — the sid root's python3.N (tools/sid-root.sh), run as if it
# were installed on this machine, for the test suite.
#
# Invoked through the symlinks tests/sid/python3.14 and python3.15, which
# tests/find_pythons.py lists when the root exists. The interpreter runs in
# the root (its own glibc 2.4x; giltrace's library, built here, loads there),
# in a private mount namespace (as root; gone when it exits) where /proc,
# /dev, /tmp, the repository, the working directory and the directories of
# LD_PRELOAD's libraries are the host's, at the same paths: a test's paths
# mean the same inside and out. Everything is exec'd in one process, so the
# interpreter keeps the pid, the environment, the descriptors and the exit
# status the caller gave this script. The helpers that mount run with no
# LD_PRELOAD, so giltrace never sees them.
set -euo pipefail

self=$(readlink -f "$0")
here=$(dirname "$self")
repo=$(cd "$here/../.." && pwd)
root=${GILTRACE_SID_ROOT:-/var/cache/giltrace/sid-root}
name=$(basename "$0")
case $name in
  python3.*) ;;
  *) echo "sid_python.sh: run it as tests/sid/python3.N" >&2; exit 2 ;;
esac

if [[ ${1-} != --giltrace-sid-ns ]]; then
  if [[ ! -x $root/usr/bin/$name ]]; then
    echo "sid_python.sh: no $name in $root (tools/sid-root.sh makes it)" >&2
    exit 127
  fi
  exec unshare --mount --propagation private -- "$0" --giltrace-sid-ns "$@"
fi
shift

bind() {
  local d=$1
  [[ -d $d ]] || return 0
  mkdir -p "$root$d"
  LD_PRELOAD= mount --rbind "$d" "$root$d"
}
LD_PRELOAD= mount -t proc proc "$root/proc"
bind /dev
bind /tmp
bind "$repo"
bind "$PWD"
IFS=': ' read -r -a preloads <<<"${LD_PRELOAD-}"
for lib in "${preloads[@]}"; do
  [[ -n $lib ]] && bind "$(dirname "$lib")"
done
exec chroot "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$PWD" "/usr/bin/$name" "$@"
