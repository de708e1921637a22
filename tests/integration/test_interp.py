#!/usr/bin/env python3
"""test_interp.py PYTHON — giltrace on one interpreter, checked by Perfetto.

Two CPU-bound countdown threads under `giltrace run`: the program's output and
exit status are unchanged, the trace satisfies every invariant
(invariants.py), both threads waited for the GIL, forced releases happened,
and the trace names the interpreter and how its GIL was found: from 3.7 on,
confirmed by the layout rows of model/gt_cpython.c (docs/cpython-layouts.md). Twice: with the
TSC clock (where the kernel trusts it) and with GILTRACE_CLOCK=boottime,
whose events all take the hooks' general path.
"""
import os
import sys
from invariants import check_trace
from tplib import WORKLOADS, check, giltrace_run, kept_on_failure, main, run

PY = sys.argv[1]


def test():
    work = os.path.join(WORKLOADS, "countdown.py")
    args = [PY, work, "4000000", "2"]
    status, out0, err0 = run(args)
    check(status == 0, "the workload fails without giltrace: %s" % err0)
    with kept_on_failure("countdown") as tmp:
        for clock in ("auto", "boottime"):
            check_run(args, out0, os.path.join(tmp, "countdown-%s.pftrace" % clock), clock)


def check_run(args, out0, trace, clock):
    status, out, err = giltrace_run(trace, args, env_extra={"GILTRACE_CLOCK": clock})
    check(status == 0, "exit status %d under giltrace: %s" % (status, err))
    check(out == out0, "stdout differs under giltrace")
    facts = check_trace(trace, max_threads=3)
    check(facts["meta"].get("debug.events_dropped") == "0", "events were dropped")

    workers = [t for t in facts["threads"] if (t["name"] or "").startswith("cpu-")]
    check(len(workers) == 2, "expected threads cpu-0 and cpu-1, got %s" % facts["threads"])
    for t in workers:
        check(t["waits"] > 0, "%s never waited for the GIL" % t["name"])
        check(t["pid"] and t["tid"] != t["pid"], "bad pid/tid %s" % t)
    check(facts["ended"].get("forced", 0) > 0, "no forced release: %s" % facts["ended"])
    check(facts["flows"] > 0, "no handoff flows")
    meta = facts["meta"]
    _, version, _ = run([PY, "-c", "import platform; print(platform.python_version())"])
    check(meta.get("debug.python_version") == version.strip(),
          "python_version %r, interpreter says %r" % (meta.get("debug.python_version"),
                                                      version.strip()))
    method = meta.get("debug.gil_method", "")
    check("create_gil init sequence" in method and "MISMATCH" not in method,
          "gil_method: %r" % method)
    # The layout module (model/gt_cpython.c) confirms the GIL on every
    # version it has a row for: a row that no longer fits fails here.
    minor = int(version.split(".")[1])
    expect = []
    if minor >= 7:
        expect.append("struct layout")
        expect.append("_Py_DebugOffsets" if minor >= 13 else "_PyRuntime offsets")
        expect.append("(interp 0)")
    if minor >= 12:
        expect.append("interp->ceval.gil")
    for gil in method.split("; "):
        for words in expect:
            check(words in gil, "the layout did not confirm %r: %r" % (words, gil))
    if clock == "boottime":
        check(meta.get("debug.clock") == "boottime", "clock %r" % meta.get("debug.clock"))


main(test)
