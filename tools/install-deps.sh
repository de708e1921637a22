#!/usr/bin/env bash
# install-deps.sh — installs what building and testing giltrace needs.
#
# Idempotent: each requirement is checked by what it provides (a command or a
# header), so a tool that came from elsewhere (Node with its bundled npm, say)
# counts, and apt-get runs only for what is really missing (as root;
# otherwise it says what to install and fails). Then it fetches Perfetto's
# trace processor, pinned by hash, and makes the Debian sid root holding
# CPython 3.14 and 3.15 (tools/sid-root.sh), for the tests.
# Usage: tools/install-deps.sh [--no-trace-processor] [--no-sid-root]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
for arg in "$@"; do
  case $arg in
    --no-trace-processor | --no-sid-root) ;;
    *) echo "install-deps: unknown option $arg (usage: tools/install-deps.sh [--no-trace-processor] [--no-sid-root])" >&2
       exit 2 ;;
  esac
done

# requirement-check  debian-package
requirements=(
  "cmd:cc             build-essential"
  "cmd:make           build-essential"
  "cmd:cmake          cmake"
  "file:/usr/include/libdeflate.h libdeflate-dev"
  "file:/usr/include/jansson.h libjansson-dev"
  "cmd:clang          clang"
  "cmd:protoc         protobuf-compiler"
  "cmd:node           nodejs"
  "cmd:npm            npm"
  "cmd:python3        python3"
  "cmd:stress-ng      stress-ng"
  "cmd:mmdebstrap     mmdebstrap"
  "cmd:help2man       help2man"
  "cmd:man            man-db"
)
# The distro's own interpreter is tested with its own test suite (test_os,
# test_subprocess, ... under giltrace): Debian ships it separately.
for py in /usr/bin/python3.[0-9] /usr/bin/python3.[0-9][0-9]; do
  [[ -x $py ]] || continue
  v=${py#/usr/bin/python}
  requirements+=("file:/usr/lib/python$v/test/test_os.py libpython$v-testsuite")
done

have() {
  case $1 in
    cmd:*) command -v "${1#cmd:}" >/dev/null 2>&1 ;;
    file:*) [[ -e "${1#file:}" ]] ;;
    glob:*) compgen -G "${1#glob:}" >/dev/null ;;
  esac
}

missing=()
for r in "${requirements[@]}"; do
  read -r check pkg <<<"$r"
  have "$check" || [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || echo "install-deps: apt-get update failed; trying the install anyway" >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# libFuzzer's runtime, for the clang that is installed (whatever its
# version): Debian packages it as libclang-rt-N-dev.
if command -v clang >/dev/null 2>&1; then
  rt=$(clang -print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer-$(uname -m).a
  if [[ ! -e $rt ]]; then
    major=$(clang -dumpversion | cut -d. -f1)
    pkg=libclang-rt-$major-dev
    if [[ $(id -u) -ne 0 ]]; then
      echo "install-deps: missing: $pkg (libFuzzer for clang $major)" >&2
      exit 1
    fi
    echo "install-deps: installing $pkg"
    apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
  fi
fi

if [[ " $* " != *" --no-trace-processor "* ]]; then
  "$here/tools/fetch-trace-processor.sh" "${GILTRACE_TP_DIR:-$here/.cache/trace-processor}"
fi

# CPython 3.14 and 3.15 exist only in Debian sid: a root holding them, which
# the suite runs through tests/sid/python3.N (tests/find_pythons.py).
if [[ " $* " != *" --no-sid-root "* ]]; then
  if [[ $(id -u) -eq 0 ]]; then
    "$here/tools/sid-root.sh" >/dev/null
  else
    echo "install-deps: not root: no Debian sid root, so CPython 3.14 and 3.15 are not tested" >&2
  fi
fi
