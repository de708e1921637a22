#!/usr/bin/env bash
# demo.sh BUILD — traces the convoy workload and shows what giltrace says.
#
# `make demo` runs this after installing what is missing and building. The
# convoy: thread io-echo does round-trips over a socket while thread cpu-0
# spins in pure Python; every time io-echo's reply arrives it must wait a
# whole switch interval for cpu-0 to be forced off the GIL.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
out="$build/demo"
mkdir -p "$out"
trace="$out/convoy.pftrace"

echo "== giltrace run -o $trace -- $python tests/workloads/convoy.py"
"$build/giltrace" run -o "$trace" -- "$python" "$here/tests/workloads/convoy.py"
cat <<MSG

== The trace is $(cd "$(dirname "$trace")" && pwd)/$(basename "$trace")
Open https://ui.perfetto.dev in a browser and drop the file on it (or use
"Open trace file"). Under the python process: each thread's "GIL wait" and
"GIL hold" slices with arrows from each release to the acquire it enabled,
the "GIL holder (interp 0)", "GIL waiters (interp 0)" and "GIL contended
(interp 0)" tracks of the main interpreter's GIL, and under
"convoys" the episodes in which io-echo waited for cpu-0.
Summarise it again at any time with: $build/giltrace report $trace
MSG
