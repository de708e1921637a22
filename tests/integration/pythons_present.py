#!/usr/bin/env python3
"""pythons_present.py [--presence-only=PREFIX] TAG=PYTHON... — the interpreters the suite is meant to
run on are all here, and the tools the checks need work. The arguments are
what tests/find_pythons.py found (tags such as pyenv-3.12.1,
distro-python3.11).

Under CI=true every expected interpreter must be present (a missing one would
otherwise silently take its tests with it); elsewhere a missing one is only
reported. The trace processor and protoc are required everywhere.

Every interpreter found, expected or not, must have a layout row: traced,
its GIL must be confirmed by the layout of its version
(docs/cpython-layouts.md), so a new CPython on this machine (3.16 one day)
fails here until it is measured, rather than being traced by behaviour alone
with nobody noticing. 3.6 is the exception: its GIL is no struct. Tags
starting with PREFIX are only checked for presence (the sanitized build's
library cannot be loaded in the sid root, which has no ASan runtime; the
normal build checks their layouts).
"""
import json
import os
import shutil
import sys
import tempfile

from tplib import check, env, giltrace_run, main, run

THREADED = "import threading; t = threading.Thread(target=int); t.start(); t.join()"


def layout_known(py, tmp):
    """The report's layout_known for a tiny threaded program on py."""
    trace = os.path.join(tmp, "layout.pftrace")
    s, _, err = giltrace_run(trace, [py, "-c", THREADED])
    check(s == 0, "%s under giltrace run: %d %s" % (py, s, err))
    s, out, err = run([env("GILTRACE"), "report", "--json", trace])
    check(s == 0, "report on %s's trace: %s" % (py, err))
    return json.loads(out)["layout_known"]

EXPECTED_PYENV = ["3.%d" % m for m in range(6, 14)]
EXPECTED_DISTRO = ["distro-python3.11"]
# Debian sid's, from the root tools/sid-root.sh makes (install-deps.sh).
EXPECTED_SID = ["sid-python3.14", "sid-python3.15"]


def test():
    args = sys.argv[1:]
    presence_only = None
    if args and args[0].startswith("--presence-only="):
        presence_only = args.pop(0).split("=", 1)[1]
    found = dict(a.split("=", 1) for a in args)
    minors = set()
    no_row = []
    with tempfile.TemporaryDirectory(prefix="giltrace-present-") as tmp:
        for tag, py in found.items():
            status, out, err = run([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
            check(status == 0, "%s does not run: %s" % (py, err.strip()))
            if tag.startswith("pyenv-"):
                minors.add(out.strip())
            if presence_only and tag.startswith(presence_only):
                continue
            known = layout_known(py, tmp)
            if out.strip() == "3.6":
                check(known is None, "%s: a 3.6 with a layout? %r" % (tag, known))
            elif known is not True:
                no_row.append("%s (%s)" % (tag, out.strip()))
    check(not no_row, "no layout row for %s (or the interpreter contradicted it: see the "
          "trace's gil_method): measure it with tools/layouts/measure.py and add it to "
          "model/gt_cpython.c (docs/cpython-layouts.md)" % ", ".join(no_row))
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
