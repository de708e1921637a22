"""test_keep.py PYTHON [SECONDS] — giltrace run --keep / --max-size: long runs.

A small service (tests/workloads/service.py: pipe I/O, a contended thread
pool, a thread renamed each second, a Python child alive throughout and
one gone at once) runs SECONDS (default 60) under --keep 30s (at most half
of SECONDS) --max-size 2M.
The trace must stay under 2 MiB, load in Perfetto's trace processor with
no import problem and keep every invariant (tests/integration/
invariants.py): slices that were open when the kept part began start
there, each thread named as it was then, both long-lived processes in it,
the short-lived one not. giltrace's report says it is the last part of a
longer recording, with ratios that stay within it. Nothing is left beside
the trace. Short jobs run one after another from a shell (no process alive
at most cuts) still make a trace that says it is the last part; a run
shorter than --keep keeps everything; bad values are one line and exit 2
before the command runs.
"""
import json
import os
import sys

import invariants
from tplib import (WORKLOADS, check, env, giltrace_run, kept_on_failure, listed_traces, main,
                   run, tp_query)

PY = sys.argv[1]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 60.0
SERVICE = os.path.join(WORKLOADS, "service.py")
MAX = 2 << 20
KEEP = min(30.0, SECONDS / 2)

Q_NAMES = """
SELECT DISTINCT t.name AS name, p.pid AS pid FROM thread t JOIN process p USING (upid)
WHERE t.name IS NOT NULL"""


def report_json(trace):
    s, out, err = run([env("GILTRACE"), "report", "--json", trace])
    check(s == 0, "report --json failed: %s" % err)
    return json.loads(out)


def long_run(tmp):
    trace = os.path.join(tmp, "long.pftrace")
    s, _, err = giltrace_run(trace, [PY, SERVICE, "--seconds", str(SECONDS)],
                             extra=["--keep", "%gs" % KEEP, "--max-size", "2M"], quiet=False)
    check(s == 0, "the service failed under giltrace: %s" % err)
    check(listed_traces(err) == [trace], "trace not listed: %s" % err)
    size = os.path.getsize(trace)
    check(size <= MAX, "the trace is %d bytes, over --max-size 2M" % size)
    check(size > 200000, "the trace is only %d bytes" % size)
    check(os.listdir(tmp) == ["long.pftrace"], "left beside the trace: %s" % os.listdir(tmp))

    facts = invariants.check_trace(trace)
    (names,) = tp_query(trace, Q_NAMES)
    by_pid = {}
    for r in names:
        by_pid.setdefault(r["pid"], set()).add(r["name"])
    check(len(facts["pids"]) == 2 and facts["images"] == 2,
          "want the service and its long-lived child only: pids %s, %d images"
          % (facts["pids"], facts["images"]))
    main_names = [n for n in by_pid.values() if "acceptor" in n]
    child_names = [n for n in by_pid.values() if "child-cpu-0" in n]
    check(main_names and {"handler_0", "handler_1", "handler_2"} <= main_names[0],
          "the service's Python names are missing: %s" % by_pid)
    check(child_names and "child-cpu-1" in child_names[0], "the child's names: %s" % by_pid)
    tickers = [int(n.split("-")[1]) for n in main_names[0] if n.startswith("ticker-")]
    check(tickers and max(tickers) >= SECONDS * 0.6,
          "the ticker's last name is not from the end of the run: %s" % main_names[0])

    r = report_json(trace)
    check(r.get("recorded_s", 0) >= SECONDS * 0.9,
          "recorded_s %s for a %gs run" % (r.get("recorded_s"), SECONDS))
    check(0.5 < r["wall_s"] <= KEEP * 1.25 + 1 and r["wall_s"] < r["recorded_s"],
          "the kept part is %ss of %ss" % (r["wall_s"], r["recorded_s"]))
    check(abs(r["wall_s"] - facts["wall"] / 1e9) < 0.05,
          "report's wall %ss, Perfetto's %gs" % (r["wall_s"], facts["wall"] / 1e9))
    for key in ("gil_held_ratio", "contention_ratio"):
        check(0 < r[key] <= 1, "%s = %s" % (key, r[key]))
    for p in r["processes"]:
        check(p["wall_s"] <= r["wall_s"] + 0.01, "process %s lives %ss in a %ss trace"
              % (p["pid"], p["wall_s"], r["wall_s"]))
    s, out, err = run([env("GILTRACE"), "report", trace])
    check(s == 0 and "recording: the earlier part was dropped" in out,
          "the report does not say the trace is the last part: %s" % out)


def short_run(tmp):
    trace = os.path.join(tmp, "short.pftrace")
    s, _, err = giltrace_run(trace, [PY, SERVICE, "--seconds", "2"], extra=["--keep", "30s"])
    check(s == 0 and listed_traces(err) == [trace], "short run: %s" % err)
    check("(3 processes)" in err, "a run shorter than --keep keeps every process: %s" % err)
    r = report_json(trace)
    check("recorded_s" not in r, "nothing was dropped, yet: %s" % r.get("recorded_s"))
    invariants.check_trace(trace)


def sequential_jobs(tmp):
    """Short Python jobs one after another from a shell: no process is
    running at most cuts, yet the trace says it is the last part of the
    run, and when the run began (the run's own record)."""
    trace = os.path.join(tmp, "jobs.pftrace")
    job = "import threading; t = threading.Thread(target=sum, args=(range(10**6),)); " \
          "t.start(); sum(range(10**6)); t.join()"
    script = 'i=0; while [ $i -lt 14 ]; do "$0" -c "$1"; sleep 0.5; i=$((i+1)); done'
    s, _, err = giltrace_run(trace, ["sh", "-c", script, PY, job], extra=["--keep", "4s"])
    check(s == 0 and listed_traces(err) == [trace], "sequential jobs: %s" % err)
    r = report_json(trace)
    check(r.get("recorded_s", 0) > r["wall_s"] + 1 and r["wall_s"] <= 4 * 1.25 + 0.5,
          "the last %ss of %ss" % (r["wall_s"], r.get("recorded_s")))
    check(2 <= len(r["processes"]) <= 8, "jobs kept: %d" % len(r["processes"]))
    invariants.check_trace(trace)


def max_size_only(tmp):
    """Bytes fast (one thread's pipe round trips): parts cut by size."""
    trace = os.path.join(tmp, "fast.pftrace")
    s, _, err = giltrace_run(trace, [PY, os.path.join(WORKLOADS, "pipeloop.py"), "500000"],
                             extra=["--max-size", "1M"])
    check(s == 0 and listed_traces(err) == [trace], "pipeloop: %s" % err)
    size = os.path.getsize(trace)
    check(size <= 1 << 20, "the trace is %d bytes, over --max-size 1M" % size)
    r = report_json(trace)
    check("recorded_s" in r, "a 1M cap kept all of 1M events")
    # A busy machine may let the ring overflow: then only what each
    # thread's own events guarantee holds.
    facts = invariants.check_trace(trace, lossy=r["events_dropped"] > 0)
    check(facts["slices"]["GIL hold"]["n"] > 1000, "too little kept: %s" % facts["slices"])


def bad_values(tmp):
    marker = os.path.join(tmp, "ran")
    for args, words in ((["--keep", "10"], "has no unit"),
                        (["--keep", "10ms"], "too short"),
                        (["--keep", "2s"], "too short"),
                        (["--keep", "soon"], "needs a duration"),
                        (["--max-size", "500"], "has no unit"),
                        (["--max-size", "100K"], "too small"),
                        (["--max-size", "lots"], "needs a size")):
        s, out, err = giltrace_run(os.path.join(tmp, "bad.pftrace"), ["touch", marker],
                                   extra=args)
        lines = err.strip().splitlines()
        check(s == 2 and len(lines) == 1 and words in lines[0],
              "%s: want exit 2 and one line with %r, got %d: %s" % (args, words, s, err))
        check(not os.path.exists(marker), "%s: the command ran" % args)
    check(not os.listdir(tmp), "bad values left %s" % os.listdir(tmp))


def test():
    for step in (bad_values, short_run, sequential_jobs, max_size_only, long_run):
        with kept_on_failure("keep") as tmp:
            step(tmp)


if __name__ == "__main__":
    main(test)
