#!/usr/bin/env bash
# sid_python.sh — the sid root's python3.N (tools/sid-root.sh), run as if it
# were installed on this machine, for the test suite.
#
# Invoked through the symlinks tests/sid/python3.14 and python3.15, which
# tests/find_pythons.py lists when the root exists, and python3.14-dbg
# (Debian's debug build). As tests/sid/sid-exec PROGRAM ARGS... it runs a
# program built on this machine (an absolute path: a C program embedding
# the root's libpython) in the root the same way. The interpreter runs in
# the root (its own glibc 2.4x; giltrace's library, built here, loads there),
# in a private mount namespace (as root; gone when it exits) where /proc,
# /dev, /tmp, the repository, the working directory and the directories of
# LD_PRELOAD's libraries are the host's, at the same paths: a test's paths
# mean the same inside and out. Everything is exec'd in one process, so the
# interpreter keeps the pid, the environment, the descriptors and the exit
# status the caller gave this script. LD_PRELOAD is set aside for the
# helpers (unshare, mount, chroot, sh) and given back to the interpreter
# alone; this script's own first image is the only other one that loads
# the preloaded libraries. Its own failures exit 125.
set -euo pipefail

fail() {
  echo "sid_python.sh: $*" >&2
  exit 125
}

self=$(readlink -f "$0")
here=$(dirname "$self")
repo=$(cd "$here/../.." && pwd)
root=${GILTRACE_SID_ROOT:-/var/cache/giltrace/sid-root}
name=$(basename "$0")
case $name in
  python3.*) ;;
  sid-exec) ;;
  *) fail "run it as tests/sid/python3.N or tests/sid/sid-exec" ;;
esac

if [[ ${1-} != --giltrace-sid-ns ]]; then
  if [[ $name == sid-exec ]]; then
    [[ ${1-} == /* && -x ${1-} && -f ${1-} ]] || fail "sid-exec: give an executable file's absolute path"
  else
    [[ -x $root/usr/bin/$name ]] || fail "no $name in $root (tools/sid-root.sh makes it)"
  fi
  export GILTRACE_SID_PRELOAD=${LD_PRELOAD-}
  export GILTRACE_SID_HAD_PRELOAD=${LD_PRELOAD+1}
  GILTRACE_SID_OUTER_NS=$(readlink /proc/self/ns/mnt) || fail "cannot read /proc/self/ns/mnt"
  export GILTRACE_SID_OUTER_NS
  unset LD_PRELOAD
  exec unshare --mount --propagation private -- "$0" --giltrace-sid-ns "$@"
fi
shift
# Mounting is only ever done in the namespace unshare just made: not in the
# caller's (this part run directly), whatever anyone passes.
inner_ns=$(readlink /proc/self/ns/mnt) || fail "cannot read /proc/self/ns/mnt"
[[ -n ${GILTRACE_SID_OUTER_NS-} && $inner_ns != "$GILTRACE_SID_OUTER_NS" ]] ||
  fail "not in a mount namespace of its own; not mounting anything"
unset GILTRACE_SID_OUTER_NS
case $PWD in
  / | /usr | /usr/* | /lib* | /bin* | /sbin* | /etc | /etc/* | /var/lib/* )
    fail "the working directory $PWD would hide the root's own files" ;;
esac

bind() {
  local d=$1
  [[ $d == /* && -d $d ]] || return 0
  mkdir -p "$root$d"
  mount --rbind "$d" "$root$d" || fail "cannot bind $d into $root"
}
mount -t proc proc "$root/proc" || fail "cannot mount /proc in $root"
bind /dev
bind /tmp
bind "$repo"
bind "$PWD"
if [[ $name == sid-exec ]]; then
  program=$1
  shift
  bind "$(dirname "$program")"
else
  program=/usr/bin/$name
fi
IFS=': ' read -r -a preloads <<<"${GILTRACE_SID_PRELOAD-}"
for lib in "${preloads[@]}"; do
  [[ -n $lib ]] && bind "$(dirname "$lib")"
done
preload=${GILTRACE_SID_PRELOAD-}
had=${GILTRACE_SID_HAD_PRELOAD-}
unset GILTRACE_SID_PRELOAD GILTRACE_SID_HAD_PRELOAD
if [[ -n $had ]]; then
  exec chroot "$root" /bin/sh -c 'cd "$0" && LD_PRELOAD=$1 && export LD_PRELOAD && shift &&
    exec "$@"' "$PWD" "$preload" "$program" "$@"
fi
exec chroot "$root" /bin/sh -c 'cd "$0" && exec "$@"' "$PWD" "$program" "$@"
