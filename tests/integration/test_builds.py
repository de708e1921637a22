#!/usr/bin/env python3
"""test_builds.py DBG_PYTHON SID_EXEC EMBED — CPython builds users meet besides
the interpreters of the matrix, from Debian sid (tools/sid-root.sh).

"dbg": Debian's python3.14-dbg, a debug build (Py_DEBUG: reference counts,
other object sizes). Its `_Py_DebugOffsets` describe it, so giltrace reads
it like the release build: the convoy workload's GIL is confirmed by the
struct, `_Py_DebugOffsets` and interp->ceval.gil, the trace keeps every
invariant, and three concurrent.interpreters GILs are interpreters 0, 1, 2.

"embed": a C program linking libpython3.14.so (tests/embed/embed.c, built
against libpython3.14-dev, run in the sid root through SID_EXEC): Python
threads and a native thread that takes the GIL through PyGILState_Ensure;
the output is the same traced or not, the GIL is confirmed the same way,
and all four threads hold it.
"""
import os
import sys

from invariants import check_trace
from tplib import WORKLOADS, check, env, giltrace_run, kept_on_failure, main, run, tp_query

DBG, SID_EXEC, EMBED = sys.argv[1:4]


def confirmed(facts, gils, what):
    """The main GIL found through _Py_DebugOffsets, every GIL the struct its
    interpreter points at."""
    method = facts["meta"].get("debug.gil_method", "")
    check(method.count("GIL ") == gils and "MISMATCH" not in method and
          method.count("struct layout") == gils and "_Py_DebugOffsets" in method and
          method.count("interp->ceval.gil") == gils,
          "%s: the GILs are not confirmed by the layout: %r" % (what, method))


def dbg(tmp):
    s, out, err = run([DBG, "-c", "import sys; print(sys.version_info[:2] >= (3, 14),"
                       " hasattr(sys, 'gettotalrefcount'))"])
    check((s, out.split()) == (0, ["True", "True"]),
          "%s is not a 3.14+ debug build: %d %r %s" % (DBG, s, out, err))
    trace = os.path.join(tmp, "dbg.pftrace")
    cmd = [DBG, os.path.join(WORKLOADS, "convoy.py")]
    s0, o0, _ = run(cmd)
    s, o, err = giltrace_run(trace, cmd)
    check((s, o) == (s0, o0) and s == 0, "dbg convoy: %d %r %s" % (s, o, err))
    facts = check_trace(trace)
    confirmed(facts, 1, "dbg convoy")
    check("layout" not in err, "dbg: giltrace said something of the layout: %s" % err)

    trace = os.path.join(tmp, "dbg-interps.pftrace")
    cmd = [DBG, os.path.join(WORKLOADS, "interpreters.py"), "threads", "300000"]
    s, o, err = giltrace_run(trace, cmd)
    check((s, o) == (0, ""), "dbg interpreters.py: %d %r %s" % (s, o, err))
    confirmed(check_trace(trace), 3, "dbg interpreters")
    ids, = tp_query(trace, "SELECT a.int_value AS id FROM slice s JOIN args a USING (arg_set_id)"
                    " WHERE s.name = 'GIL' AND a.key = 'debug.interp_id' ORDER BY 1")
    check([r["id"] for r in ids] == [0, 1, 2], "dbg: interpreter ids %s" % ids)


def embed(tmp):
    cmd = [SID_EXEC, EMBED, "1500000"]
    s0, o0, e0 = run(cmd)
    check((s0, o0) == (0, "embed: 3\n"), "embed untraced: %d %r %s" % (s0, o0, e0))
    trace = os.path.join(tmp, "embed.pftrace")
    s, o, err = giltrace_run(trace, cmd)
    check((s, o) == (s0, o0), "embed traced: %d %r %s" % (s, o, err))
    facts = check_trace(trace, max_threads=4)
    confirmed(facts, 1, "embed")
    check(facts["meta"].get("debug.python_version", "").startswith("3.14."),
          "embed: python_version %r" % facts["meta"].get("debug.python_version"))
    holders = [t for t in facts["threads"] if t["holds"]]
    check(len(holders) == 4, "embed: %d threads held the GIL, expected 4 (main, py-0, py-1, "
          "the native one): %s" % (len(holders), facts["threads"]))
    s, out, err = run([env("GILTRACE"), "report", trace])
    check(s == 0 and "py-0" in out and "py-1" in out, "embed: report %d\n%s%s" % (s, out, err))


def test():
    with kept_on_failure("builds") as tmp:
        dbg(tmp)
        print("dbg: ok")
        embed(tmp)
        print("embed: ok")


main(test)
