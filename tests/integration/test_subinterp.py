#!/usr/bin/env python3
"""test_subinterp.py PYTHON — per-interpreter GILs (PEP 684, CPython 3.12+).

"own": two subinterpreters with their own GIL beside the main interpreter give
three GILs, each with its own labelled tracks (holder, waiters, contended,
switch interval), found by create_gil and confirmed through
interp->ceval.gil; each worker holds its subinterpreter's GIL, and every GIL
satisfies the invariants. Every GIL's tracks are named by its interpreter
("GIL holder (interp 0)", ...). "shared": legacy subinterpreters share the main
GIL: one GIL, on which all three threads take turns, and which the trace
(its "interpreter" records) and the report say interpreters 0, 1 and 2 run
under. "one-by-one": twelve
subinterpreters created one after another (each new GIL where the last
one was) are twelve GILs with their own tracks and labels; seventy are more
than the recorder's 64 GILs per process, which it says once, and the trace
and the report say how many were not traced.

3.14+, the public API (PEP 734): "public", two concurrent.interpreters
interpreters run from threads, are three GILs of interpreters 0, 1 and 2 in
the report (its headings and JSON) and in Perfetto's trace processor (track
names and the GIL records' interp_id); "pool", an InterpreterPoolExecutor
with two workers, is the main GIL and one GIL per worker interpreter, each
held by the pool's threads.
"""
import json
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
Q_INTERPS = """
SELECT group_concat(id || '@' || gil) AS interps FROM (
  SELECT max(CASE WHEN a.key = 'debug.interp_id' THEN a.int_value END) AS id,
         max(CASE WHEN a.key = 'debug.gil' THEN a.int_value END) AS gil
  FROM slice s JOIN args a USING (arg_set_id) WHERE s.name = 'interpreter'
  GROUP BY s.id ORDER BY id)"""
Q_GIL_IDS = """
SELECT group_concat(a.int_value) AS ids FROM (SELECT a.int_value FROM slice s
JOIN args a USING (arg_set_id) WHERE s.name = 'GIL' AND a.key = 'debug.interp_id'
ORDER BY a.int_value) a"""


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
        check(len(names) == 3 and names[0] == "GIL holder (interp 0)" and
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
        # Each under its own GIL: no interpreter shares one.
        interps, = tp_query(own, Q_INTERPS)
        check(interps == [{"interps": None}], "own: interpreter records %s" % interps)
        check_own_gils(own, 3)

        shared = os.path.join(tmp, "shared.pftrace")
        cmd[-1] = "shared"
        s, o, err = giltrace_run(shared, cmd)
        check((s, o) == (0, ""), "subinterp.py shared: %d %r %s" % (s, o, err))
        facts = check_trace(shared, max_threads=3)
        tracks, = tp_query(shared, Q_TRACKS)
        check([t["track"] for t in tracks] == ["GIL holder (interp 0)"],
              "shared: tracks %s" % tracks)
        holders = tracks[0]["holders"].split(",")
        check(sum(h.startswith("sub-") for h in holders) == 2, "shared: holders %s" % holders)
        interps, = tp_query(shared, Q_INTERPS)
        check(interps == [{"interps": "1@0,2@0"}], "shared: interpreter records %s" % interps)
        s, out, err = run([env("GILTRACE"), "report", shared])
        check("shared: interpreters 0, 1 and 2 run under this GIL" in out,
              "shared: the report does not say the GIL is shared:\n%s%s" % (out, err))
        s, js, err = run([env("GILTRACE"), "report", "--json", shared])
        gils = json.loads(js)["gils"]
        check([(g["interp_id"], g["interpreters"]) for g in gils] == [(0, [0, 1, 2])],
              "shared: JSON %s" % gils)

        seq = os.path.join(tmp, "one-by-one.pftrace")
        cmd[-1:] = ["one-by-one", "12"]
        cmd[-3] = "100000"
        s, o, err = giltrace_run(seq, cmd)
        check((s, o) == (0, ""), "subinterp.py one-by-one 12: %d %r %s" % (s, o, err))
        check_trace(seq, max_threads=13)
        tracks, = tp_query(seq, Q_TRACKS)
        want = ["GIL holder (interp %d)" % i for i in range(13)]
        check(sorted(t["track"] for t in tracks) == sorted(want),
              "one-by-one 12: tracks %s" % [t["track"] for t in tracks])
        for t in tracks[1:]:
            check(len(t["holders"].split(",")) <= 2, "one-by-one 12: %s" % t)
        check_own_gils(seq, 13)

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

        if public_api():
            public(tmp)


def check_own_gils(trace, n):
    """n GILs, each of its own interpreter alone, ids 0..n-1 (the JSON)."""
    s, js, err = run([env("GILTRACE"), "report", "--json", trace])
    check(s == 0, "report --json %s: %s" % (trace, err))
    gils = sorted((g["interp_id"], g["interpreters"]) for g in json.loads(js)["gils"])
    check(gils == [(i, [i]) for i in range(n)], "%s: GILs and interpreters %s" % (trace, gils))


def public_api():
    status, _, _ = run([PY, "-c", "import concurrent.interpreters"])
    return status == 0


def gil_report(trace):
    """The report's GIL headings and the JSON's interpreter ids."""
    s, out, err = run([env("GILTRACE"), "report", trace])
    check(s == 0, "report %s: %s" % (trace, err))
    heads = [l.strip() for l in out.splitlines() if l.strip().startswith("GIL of interpreter")]
    s, js, err = run([env("GILTRACE"), "report", "--json", trace])
    check(s == 0, "report --json %s: %s" % (trace, err))
    ids = sorted(g["interp_id"] for g in json.loads(js)["gils"])
    return heads, ids


def public(tmp):
    """3.14's concurrent.interpreters and InterpreterPoolExecutor."""
    trace = os.path.join(tmp, "public.pftrace")
    cmd = [PY, os.path.join(WORKLOADS, "interpreters.py"), "threads"]
    s0, o0, _ = run(cmd)
    s, o, err = giltrace_run(trace, cmd)
    check((s, o) == (s0, o0) == (0, ""), "interpreters.py threads: %d %r %s" % (s, o, err))
    facts = check_trace(trace)
    heads, ids = gil_report(trace)
    check(heads == ["GIL of interpreter %d:" % i for i in range(3)] and ids == [0, 1, 2],
          "public: report headings %s, JSON interp_ids %s" % (heads, ids))
    tracks, gil_ids = tp_query(trace, Q_TRACKS, Q_GIL_IDS)
    by_name = {t["track"]: t["holders"].split(",") for t in tracks}
    check(sorted(by_name) == ["GIL holder (interp %d)" % i for i in range(3)],
          "public: tracks %s" % sorted(by_name))
    # The main thread creates and closes the subinterpreters (in them), and
    # each helper thread starts in the main interpreter.
    check({"sub-0", "sub-1"} == {h for i in (1, 2) for h in by_name["GIL holder (interp %d)" % i]
                                 if h.startswith("sub-")} and
          all(sum(h.startswith("sub-") for h in by_name["GIL holder (interp %d)" % i]) == 1
              for i in (1, 2)), "public: holders %s" % by_name)
    check(gil_ids == [{"ids": "0,1,2"}], "public: the GIL records' interp_id: %s" % gil_ids)
    method = facts["meta"].get("debug.gil_method", "")
    check(method.count("interp->ceval.gil") == 3 and "MISMATCH" not in method,
          "public: gil_method %r" % method)

    trace = os.path.join(tmp, "pool.pftrace")
    cmd[-1:] = ["pool", "1200000"]
    s, o, err = giltrace_run(trace, cmd)
    check((s, o) == (0, ""), "interpreters.py pool: %d %r %s" % (s, o, err))
    check_trace(trace)
    heads, ids = gil_report(trace)
    check(len(ids) >= 3 and ids[0] == 0 and len(set(ids)) == len(ids),
          "pool: JSON interp_ids %s" % ids)
    check(heads == ["GIL of interpreter %d:" % i for i in ids], "pool: headings %s" % heads)
    tracks, = tp_query(trace, Q_TRACKS)
    workers = [t for t in tracks if t["track"] != "GIL holder (interp 0)"]
    check(len(workers) >= 2 and all(h.startswith("InterpreterPoolExecutor")
                                    for t in workers for h in t["holders"].split(",")),
          "pool: worker GILs %s" % tracks)


main(test)
