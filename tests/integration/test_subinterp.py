#!/usr/bin/env python3
"""test_subinterp.py PYTHON — per-interpreter GILs (PEP 684, CPython 3.12+).

"own": two subinterpreters with their own GIL beside the main interpreter give
three GILs, each with its own labelled tracks (holder, waiters, contended,
switch interval), found by create_gil and confirmed through
interp->ceval.gil; each worker holds its subinterpreter's GIL, and every GIL
satisfies the invariants. "shared": legacy subinterpreters share the main
GIL: one GIL, on which all three threads take turns. "one-by-one": twelve
subinterpreters created one after another (each new GIL where the last
one was) are twelve GILs with their own tracks and labels; seventy are more
than the recorder's 64 GILs per process, which it says once, and the trace
and the report say how many were not traced.
"""
import os
import sys

from invariants import check_trace
from tplib import WORKLOADS, check, env, giltrace_run, kept_on_failure, main, run, tp_query

PY = sys.argv[1]

Q_TRACKS = """
SELECT t.name AS track, count(*) AS holds, group_concat(DISTINCT th.name) AS holders
FROM slice s JOIN track t ON s.track_id = t.id
JOIN thread_track tt ON tt.id = (SELECT id FROM thread_track WHERE utid = (
     SELECT utid FROM thread WHERE tid = CAST(substr(s.name, instr(s.name, ' ') + 1) AS INT)))
JOIN thread th ON th.utid = tt.utid
WHERE t.name LIKE 'GIL holder%' AND s.depth = 0 GROUP BY t.name"""
Q_INTERVALS = """
SELECT t.name AS track, max(c.value) AS us FROM counter c JOIN counter_track t
ON c.track_id = t.id WHERE t.name LIKE 'GIL switch interval%' GROUP BY t.name"""


def test():
    with kept_on_failure("subinterp") as tmp:
        own = os.path.join(tmp, "own.pftrace")
        cmd = [PY, os.path.join(WORKLOADS, "subinterp.py"), "3000000", "own"]
        s0, o0, _ = run(cmd)
        s, o, err = giltrace_run(own, cmd)
        check((s, o) == (s0, o0) == (0, ""), "subinterp.py own: %d %r %s" % (s, o, err))
        facts = check_trace(own)
        tracks, intervals = tp_query(own, Q_TRACKS, Q_INTERVALS)
        names = sorted(t["track"] for t in tracks)
        check(len(names) == 3 and names[0] == "GIL holder" and
              all(n.startswith("GIL holder (interp ") for n in names[1:]),
              "expected the main GIL and two labelled ones: %s" % names)
        by_name = {t["track"]: t["holders"].split(",") for t in tracks}
        for n in names[1:]:
            check(any(h.startswith("sub-") for h in by_name[n]),
                  "%s was never held by a sub- thread: %s" % (n, by_name[n]))
        check(len(intervals) == 3 and all(i["us"] == 5000 for i in intervals),
              "switch intervals: %s" % intervals)
        method = facts["meta"].get("debug.gil_method", "")
        check(method.count("interp->ceval.gil") == 3 and "MISMATCH" not in method,
              "gil_method: %r" % method)

        shared = os.path.join(tmp, "shared.pftrace")
        cmd[-1] = "shared"
        s, o, err = giltrace_run(shared, cmd)
        check((s, o) == (0, ""), "subinterp.py shared: %d %r %s" % (s, o, err))
        facts = check_trace(shared, max_threads=3)
        tracks, = tp_query(shared, Q_TRACKS)
        check([t["track"] for t in tracks] == ["GIL holder"], "shared: tracks %s" % tracks)
        holders = tracks[0]["holders"].split(",")
        check(sum(h.startswith("sub-") for h in holders) == 2, "shared: holders %s" % holders)

        seq = os.path.join(tmp, "one-by-one.pftrace")
        cmd[-1:] = ["one-by-one", "12"]
        cmd[-3] = "100000"
        s, o, err = giltrace_run(seq, cmd)
        check((s, o) == (0, ""), "subinterp.py one-by-one 12: %d %r %s" % (s, o, err))
        check_trace(seq, max_threads=13)
        tracks, = tp_query(seq, Q_TRACKS)
        want = ["GIL holder"] + ["GIL holder (interp %d)" % i for i in range(1, 13)]
        check(sorted(t["track"] for t in tracks) == sorted(want),
              "one-by-one 12: tracks %s" % [t["track"] for t in tracks])
        for t in tracks[1:]:
            check(len(t["holders"].split(",")) <= 2, "one-by-one 12: %s" % t)

        many = os.path.join(tmp, "seventy.pftrace")
        cmd[-3:] = ["10000", "one-by-one", "70"]
        s, o, err = giltrace_run(many, cmd)
        check((s, o) == (0, "") and err.count("more than 64 GILs") == 1,
              "subinterp.py one-by-one 70: %d %r %s" % (s, o, err))
        s, out, err = run([env("GILTRACE"), "report", many])
        check("7 GILs were created after a process's first 64 and not traced" in out,
              "one-by-one 70: the report does not say what was not traced:\n%s%s" % (out, err))
        tracks, = tp_query(many, Q_TRACKS)
        check(len(tracks) == 64, "one-by-one 70: %d GIL tracks" % len(tracks))


main(test)
