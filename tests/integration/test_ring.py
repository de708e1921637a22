#!/usr/bin/env python3
"""test_ring.py FAKEGIL — rings that wrap and overflow, without Python.

tests/bench/fakegil drives CPython's exact GIL protocol from C as fast as it
can. With rings of 1024 events (GILTRACE_RING_EVENTS) the writer cannot keep
up, so rings wrap around thousands of times and fill up:

  one thread   every event is either in the trace or counted as dropped
               (recorded + dropped = the calls made, exactly), the count is in
               the trace and on stderr, and what is kept is whole: every
               slice balanced, about one hold per two events kept
  contended    four threads taking turns with drop requests: each thread's
               slices stay balanced and every wait ends in an acquire or the
               exit, however many events of a wait or a hold were lost (that
               one holder follows another needs the lost release: not
               checked)
  plain        the same under plain LD_PRELOAD (the library's own writer)
In every case creating the GIL, a take or a drop must leave errno alone
(fakegil checks it): the hooks wake and start writers, claim rings and
write messages, and the program's errno is not theirs to change.
"""
import os
import re
import sys

from invariants import check_trace
from tplib import check, giltrace_run, kept_on_failure, main, preloaded, run

FAKEGIL = sys.argv[1]
# Rings of 1024 events, and fakegil checking that no take or drop changes
# errno: with rings this small the hooks wake the writer all the time.
TINY = {"GILTRACE_RING_EVENTS": "1024", "FAKEGIL_CHECK_ERRNO": "1"}
DROPPED = re.compile(r"^giltrace: (?:process \d+|\S+): (\d+) of (\d+) GIL events were dropped", re.M)


def test():
    with kept_on_failure("ring") as tmp:
        cycles = 200000
        trace = os.path.join(tmp, "one.pftrace")
        s, out, err = giltrace_run(trace, [FAKEGIL, str(cycles), "1", "0"],
                                   env_extra=TINY)
        check(s == 0 and out.endswith("%d cycles\n" % cycles), "fakegil: %d %r %s" % (s, out, err))
        m = DROPPED.search(err)
        check(m is not None, "no drop count on stderr:\n%s" % err)
        dropped, total = int(m.group(1)), int(m.group(2))
        facts = check_trace(trace, max_threads=1, lossy=True)
        meta = facts["meta"]
        recorded = int(meta["debug.events"])
        check(int(meta["debug.events_dropped"]) == dropped, "trace says %s dropped, stderr %d"
              % (meta["debug.events_dropped"], dropped))
        # Each cycle is an acquire and a release; the thread's exit is one
        # more event, and the first release (before any acquire) is not.
        calls = 2 * cycles
        check(0 < dropped < total and calls <= recorded + dropped <= calls + 2 and
              total == recorded + dropped,
              "%d recorded + %d dropped for %d calls (stderr: of %d)"
              % (recorded, dropped, calls, total))
        # One hold per acquire kept: about half the events, off by at most
        # one per run of drops (a run may end between an acquire and its
        # release), and there are far fewer runs than events.
        holds = facts["slices"]["GIL hold"]["n"]
        check(abs(2 * holds - recorded) <= 4 + recorded // 100,
              "%d holds from %d events" % (holds, recorded))
        print("one thread: ok (%d of %d events dropped)" % (dropped, total))

        trace = os.path.join(tmp, "four.pftrace")
        s, out, err = giltrace_run(trace, [FAKEGIL, "20000", "4", "0"],
                                   env_extra=TINY)
        check(s == 0, "fakegil, 4 threads: %d %r %s" % (s, out, err))
        facts = check_trace(trace, max_threads=4, lossy=True)
        check(len([t for t in facts["threads"] if t["holds"]]) == 4,
              "four threads: %s" % facts["threads"])
        print("contended: ok")

        # Plain LD_PRELOAD: the library starts its own writer thread from a
        # hook and wakes it from hooks; errno stays the program's.
        trace = os.path.join(tmp, "plain.pftrace")
        s, out, err = run([FAKEGIL, "20000", "2", "0"],
                          env_extra=preloaded(dict(TINY, GILTRACE_OUTPUT=trace)))
        check(s == 0, "fakegil under LD_PRELOAD: %d %r %s" % (s, out, err))
        check_trace(trace, max_threads=2, lossy=True)
        print("plain LD_PRELOAD: ok")


main(test)
