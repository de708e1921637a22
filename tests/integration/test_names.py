#!/usr/bin/env python3
"""test_names.py PYTHON — threads are known by their Python names.

tests/workloads/names.py runs named threads, a thread renamed before it
starts, one that renames itself while running (a non-Latin-1 name), one
whose name is longer than a trace keeps, a ThreadPoolExecutor's workers and
a thread started below `threading`. Under `giltrace run`:

  report --json   every thread's name is its threading.Thread.name (the
                  long one cut, ending "..."), with the OS name beside it
                  as os_name where they differ; the _thread thread keeps its OS name (the one
                  the workload printed) and has no os_name
  text report     the pool's workers by name
  Perfetto        the trace processor's thread table has the same names,
                  and imports the trace with no problem
"""
import json
import os
import sys

from tplib import WORKLOADS, check, env, giltrace_run, kept_on_failure, main, run, tp_query

PY = sys.argv[1]

EXPECTED = ["MainThread", "alpha", "renamed-before-start", "renamed \u00fc \u540d", "pool_0",
            "pool_1"]


def test():
    gt = env("GILTRACE")
    with kept_on_failure("names") as tmp:
        trace = os.path.join(tmp, "names.pftrace")
        s, out, err = giltrace_run(trace, [PY, os.path.join(WORKLOADS, "names.py")])
        check(s == 0, "names.py failed under giltrace (%d): %s" % (s, err))
        printed = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
        main_os, unnamed_os = printed.get("main"), printed.get("unnamed")
        check(main_os and unnamed_os, "the workload did not print its OS names: %r" % out)

        s, out, err = run([gt, "report", "--json", trace])
        check(s == 0, "report --json failed: %s" % err)
        doc = json.loads(out)
        threads = doc["threads"]
        names = [t["name"] for t in threads]
        # Before 3.14 every thread inherits the process's OS name; 3.14+
        # gives threading's threads theirs, cut to 15 bytes (then os_name is
        # absent where it is the Python name itself).
        names_os = tuple(int(x) for x in doc["python_version"].split(".")[:2]) >= (3, 14)
        for want in EXPECTED:
            found = [t for t in threads if t["name"] == want]
            check(len(found) == 1, "no single thread named %r in %s" % (want, names))
            os_name = found[0].get("os_name")
            if want == "MainThread" or not names_os:
                good = os_name == main_os
            else:
                good = os_name in (None, want.encode()[:15].decode(errors="ignore"))
            check(good, "%r: wrong OS name beside it: %s" % (want, found[0]))
        long = [n for n in names if n.startswith("long-xxxx")]
        check(len(long) == 1 and long[0].endswith("...") and len(long[0].encode()) <= 63,
              "the long name is not cut as said: %s" % names)
        below = [t for t in threads if t["name"] == unnamed_os and "os_name" not in t]
        check(len(below) == 1, "the _thread thread is not known by its OS name %r: %s"
              % (unnamed_os, threads))
        check(len(threads) == len(EXPECTED) + 2, "threads: %s" % names)

        s, out, err = run([gt, "report", trace])
        check(s == 0 and "pool_0" in out and "pool_1" in out,
              "the text report does not name the pool's workers: %s" % out)

        rows = tp_query(trace, "SELECT name FROM thread WHERE name IS NOT NULL")[0]
        in_tp = {r["name"] for r in rows}
        for want in EXPECTED + long:
            check(want in in_tp, "Perfetto's thread table lacks %r: %s" % (want, sorted(in_tp)))


main(test)
