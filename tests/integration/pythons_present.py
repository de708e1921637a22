#!/usr/bin/env python3
"""pythons_present.py TAG=PYTHON... — the interpreters the suite is meant to
run on are all here, and the tools the checks need work. The arguments are
what tests/find_pythons.py found (tags such as pyenv-3.12.1,
distro-python3.11).

Under CI=true every expected interpreter must be present (a missing one would
otherwise silently take its tests with it); elsewhere a missing one is only
reported. The trace processor and protoc are required everywhere.
"""
import os
import shutil
import sys

from tplib import check, env, main, run

EXPECTED_PYENV = ["3.%d" % m for m in range(6, 14)]
EXPECTED_DISTRO = ["distro-python3.11"]
# Debian sid's, from the root tools/sid-root.sh makes (install-deps.sh).
EXPECTED_SID = ["sid-python3.14", "sid-python3.15"]


def test():
    found = dict(a.split("=", 1) for a in sys.argv[1:])
    minors = set()
    for tag, py in found.items():
        status, out, err = run([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
        check(status == 0, "%s does not run: %s" % (py, err.strip()))
        if tag.startswith("pyenv-"):
            minors.add(out.strip())
    missing = ["pyenv CPython %s" % v for v in EXPECTED_PYENV if v not in minors]
    missing += ["the distro's %s" % t for t in EXPECTED_DISTRO if t not in found]
    missing += ["Debian sid's %s (tools/sid-root.sh)" % t[4:] for t in EXPECTED_SID
                if t not in found]
    if missing:
        msg = "interpreters missing from this machine: %s" % ", ".join(missing)
        check(os.environ.get("CI") != "true", msg)
        print("note: " + msg, file=sys.stderr)
    tp = env("GILTRACE_TP_DIR")
    check(os.path.isfile(os.path.join(tp, "trace_processor.wasm")),
          "Perfetto's trace processor is not in %s (run tools/install-deps.sh)" % tp)
    check(shutil.which(os.environ.get("NODE") or "node"), "node is missing")
    check(shutil.which("protoc"), "protoc is missing")


main(test)
