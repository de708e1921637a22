#!/usr/bin/env python3
"""test_multiproc.py PYTHON — a multi-process program is one trace and one report.

Under `giltrace run -q`, with no option:

  pool-*     multiprocessing.Pool(4) with fork, spawn and forkserver: one
             file, naming the parent and every worker (at least 5
             processes); Perfetto imports it with zero problems and sees
             each pid; report --json lists every process, the parent's
             parent-side thread by its Python name
  sh         a Python child behind `sh -c`: the shell is not Python, the
             child is traced
  prefork    a pre-fork HTTP server (two forked workers) under load from
             four client threads: three processes, the workers' requests
             in their own processes, the text report's process table
  -q         one line for all of it
  --process  report and check of some processes of the spawn pool's trace:
             by a word of the command line (the parent's pool.py, the
             workers' --multiprocessing-fork), by pid; a baseline of the
             same selection compares clean, one of the whole run is said to
             differ; a name no process has, or --process on JSON, is one
             line and exit 2
"""
import json
import os
import re
import sys

from tplib import WORKLOADS, check, env, giltrace_run, kept_on_failure, main, run, tp_query

PY = sys.argv[1]


def traced(tmp, name, cmd, min_procs):
    trace = os.path.join(tmp, name + ".pftrace")
    s, out, err = giltrace_run(trace, cmd)
    check(s == 0, "%s failed under giltrace (%d): %s" % (name, s, err))
    check(os.listdir(tmp) == [name + ".pftrace"], "%s: files %s" % (name, os.listdir(tmp)))
    # Pool.terminate() SIGTERMs the workers: one caught between fork and
    # its first GIL can die without finishing its part, which -q still
    # says (noticed, not yet fixed: see the notes).
    lines = [l for l in err.splitlines() if not re.match(r"giltrace: process \d+ was killed", l)]
    m = re.match(r"giltrace: trace written to (\S+) \((\d+) processes\)$", lines[-1] if lines else "")
    check(len(lines) == 1 and m and m.group(1) == trace and int(m.group(2)) >= min_procs,
          "%s: -q printed %r" % (name, lines))
    pids = tp_query(trace, "SELECT DISTINCT p.pid AS pid FROM thread t JOIN process p "
                           "USING (upid) JOIN thread_track tt USING (utid)")[0]
    check(len(pids) >= min_procs, "%s: Perfetto sees pids %s" % (name, pids))
    s, rep, err = run([env("GILTRACE"), "report", "--json", trace])
    check(s == 0, "%s: report failed: %s" % (name, err))
    doc = json.loads(rep)
    check(len(doc["processes"]) >= min_procs and {p["pid"] for p in doc["processes"]} ==
          {r["pid"] for r in pids}, "%s: processes %s, Perfetto %s" % (name, doc["processes"], pids))
    return trace, doc, out


def report_of(trace, *args):
    s, rep, err = run([env("GILTRACE"), "report", "--json", trace] + list(args))
    check(s == 0, "report %s failed: %s" % (args, err))
    return json.loads(rep)


def select_processes(trace, whole, tmp):
    gt = env("GILTRACE")
    parent = report_of(trace, "--process", "pool.py")
    check(len(parent["processes"]) == 1 and any(t["name"] == "parent-side"
                                                for t in parent["threads"]),
          "--process pool.py: %s" % parent["processes"])
    check(parent["process"] == "pool.py", "JSON says what it covers: %s" % parent.get("process"))
    workers = report_of(trace, "--process=--multiprocessing-fork")
    wpids = {p["pid"] for p in workers["processes"]}
    check(len(wpids) >= 4 and parent["processes"][0]["pid"] not in wpids,
          "--process --multiprocessing-fork: %s" % workers["processes"])
    check(all(t["pid"] in wpids for t in workers["threads"]), "other processes' threads in it")
    one = report_of(trace, "--process", str(min(wpids)))
    check([p["pid"] for p in one["processes"]] == [min(wpids)] and
          one["wall_s"] <= whole["wall_s"] + 0.01, "--process PID: %s" % one["processes"])
    base = os.path.join(tmp, "parent.json")
    with open(base, "w") as f:
        json.dump(parent, f)
    s, out, err = run([gt, "check", trace, "--process", "pool.py", "--baseline", base])
    check(s == 0 and "process pool.py" in out and "warning" not in out,
          "check --process against its own baseline (%d): %s%s" % (s, out, err))
    whole_json = os.path.join(tmp, "whole.json")
    with open(whole_json, "w") as f:
        json.dump(whole, f)
    s, out, err = run([gt, "check", trace, "--process", "pool.py", "--baseline", whole_json,
                       "--max-contention-ratio", "100%"])
    check("warning: the baseline covers every process, this run process pool.py" in out,
          "a baseline of the whole run is not said to differ: %s" % out)
    for cmd, words in (([gt, "report", trace, "--process", "nosuch"], "no process named nosuch"),
                       ([gt, "check", whole_json, "--process", "pool.py", "--max-mean-waiters",
                         "1"], "is JSON")):
        s, out, err = run(cmd)
        check(s == 2 and len(err.strip().splitlines()) == 1 and words in err,
              "%s: want exit 2 and %r, got %d: %s" % (cmd[1:], words, s, err))


def test():
    for method in ("fork", "spawn", "forkserver"):
        with kept_on_failure("multiproc") as tmp:
            trace, doc, out = traced(tmp, "pool-" + method,
                                 [PY, os.path.join(WORKLOADS, "pool.py"), method], 5)
            check(out.strip() == "7200053", "pool %s printed %r" % (method, out))
            check(any(t["name"] == "parent-side" for t in doc["threads"]),
                  "pool %s: no parent-side thread: %s" % (method, doc["threads"]))
            check(all(p["threads"] >= 1 for p in doc["processes"]), "pool %s: %s"
                  % (method, doc["processes"]))
            if method == "spawn":
                select_processes(trace, doc, tmp)
            print("pool %s: ok (%d processes)" % (method, len(doc["processes"])))
    with kept_on_failure("multiproc") as tmp:
        child = "import threading; t = threading.Thread(target=sum, args=(range(10**6),)); t.start(); t.join()"
        _, doc, _ = traced(tmp, "sh", ["sh", "-c", '"$0" -c "$1"; "$0" -c "$1"', PY, child], 2)
        print("sh: ok")
    with kept_on_failure("multiproc") as tmp:
        trace, doc, out = traced(tmp, "prefork", [PY, os.path.join(WORKLOADS, "prefork.py")], 3)
        check(out.strip() == "200", "prefork answered %r" % out)
        check(len([t for t in doc["threads"] if t["name"].startswith("client-")]) == 4,
              "prefork: client threads %s" % doc["threads"])
        s, text, err = run([env("GILTRACE"), "report", trace])
        check(s == 0 and "3 processes" in text and "PROCESS" in text and "prefork.py" in text,
              "prefork: text report:\n%s" % text)
        print("prefork: ok")


main(test)
