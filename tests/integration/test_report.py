#!/usr/bin/env python3
"""test_report.py PYTHON — `giltrace report` knows the answers on real runs.

  one thread      no wait at all, no convoy, no verdict
  countdown       two CPU-bound threads (for a fixed time, so that neither
                  runs alone for long): both wait, the GIL contended most of
                  the time, forced releases suffered and caused by both, a
                  contention verdict
  convoy          a convoy: victim io-echo, culprit cpu-0, most round-trips
                  delayed; the episodes are in the trace (Perfetto shows
                  them, with no import problem), and once only
  no report       run --no-report prints only the trace's path and leaves the
                  convoys out; report --annotate adds them afterwards
  io alone        the same I/O without the CPU thread: no convoy
  ctypes          threads sleeping in a C call that releases the GIL: they
                  run in parallel, the GIL is seldom contended
  formats         --json has the documented fields and agrees with the text;
                  --markdown has its tables
  bad input       empty, text, truncated and foreign files, a missing file:
                  one line on stderr, exit 2

The cases whose answers are about timing (countdown, convoy, io alone,
ctypes) get up to three runs: on a shared VM a run now and then loses a core
for a while, and a thread that waits for a CPU is not waiting for the GIL.
A wrong answer fails all three.
"""
import json
import os
import subprocess
import sys

from tplib import (WORKLOADS, Failure, check, env, giltrace_run, kept_on_failure, main, run,
                   tp_query, traced_workload)

PY = sys.argv[1]
GT = None


def traced(tmp, name, args):
    return traced_workload(tmp, name, PY, args)


def report(trace, *opts):
    s, out, err = run([GT, "report", trace] + list(opts))
    check(s == 0, "report %s %s failed (%d): %s" % (trace, opts, s, err))
    return out


def report_json(trace):
    return json.loads(report(trace, "--json"))


def links_to(text, kind):
    """Does the report's verdict of this kind link to its section of the
    metrics.md of this source tree (giltrace runs from its build tree)?"""
    docs = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), "docs", "metrics.md")
    return ("%s — see %s#%s" % (kind, docs, kind)) in text


def thread(doc, name):
    found = [t for t in doc["threads"] if t["name"] == name]
    check(len(found) == 1, "no single thread %s in %s" % (name, doc["threads"]))
    return found[0]


def case_one_thread(tmp):
    doc = report_json(traced(tmp, "one", ["one_thread.py", "3000000"]))
    check(all(t["wait_s"] == 0 and t["wait_count"] == 0 for t in doc["threads"]),
          "a single thread waited: %s" % doc["threads"])
    check(doc["contention_ratio"] == 0 and doc["forced_releases"] == 0,
          "contention without a second thread: %s" % doc)
    check(doc["convoys"] == [] and doc["verdicts"] == [], "findings: %s" % doc["verdicts"])
    check(0.5 < doc["gil_held_ratio"] <= 1, "held ratio %s" % doc["gil_held_ratio"])


def case_countdown(tmp):
    # 0.6 s of counting: the interpreter's start-up, which a busy machine
    # slows down, stays a small part of the wall time the contention ratio
    # is a share of.
    trace = traced(tmp, "countdown", ["countdown.py", "--seconds", "0.6", "0", "2"])
    doc = report_json(trace)
    for name in ("cpu-0", "cpu-1"):
        t = thread(doc, name)
        check(t["wait_count"] > 0 and t["wait_s"] > 0, "%s never waited" % name)
        check(t["forced_releases"] > 0, "%s suffered no forced release" % name)
        check(t["forced_caused"] > 0, "%s caused no forced release" % name)
        check(t["wait_p50_us"] <= t["wait_p99_us"] <= t["wait_max_us"] * 1.03,
              "%s quantiles out of order: %s" % (name, t))
    check(doc["contention_ratio"] > 0.5, "contention ratio %s" % doc["contention_ratio"])
    check(doc["convoys"] == [], "countdown has convoys: %s" % doc["convoys"])
    kinds = [v["kind"] for v in doc["verdicts"]]
    check("contention" in kinds and "convoy" not in kinds, "verdicts: %s" % doc["verdicts"])
    check(abs(doc["switch_interval_s"] - 0.005) < 1e-9, "interval %s" % doc["switch_interval_s"])
    # The text report is the same numbers, one screen, worst threads first.
    text = report(trace)
    check(len(text.splitlines()) < 25, "the text report is longer than a screen")
    check(links_to(text, "contention"), text)
    rows = [l.split()[0] for l in text.splitlines() if l.strip().startswith("cpu-")]
    worst = sorted(doc["threads"], key=lambda t: -t["wait_s"])
    check(rows == [t["name"] for t in worst if t["name"].startswith("cpu-")],
          "threads not worst first: %s" % rows)


def case_interval_change(tmp):
    """The interval is set to 1 µs for the last 0.05 s of a 0.5 s
    countdown: the report measures each hold against the interval in force
    then, not against whichever interval the file happens to mention last.
    (How long holds are in intervals is not checked: on a busy machine a
    waiter's time-out comes late and 5 ms holds grow, see test_check.)"""
    trace = traced(tmp, "tiny", ["countdown.py", "--seconds", "0.5", "--tiny-interval", "0.05",
                                 "0", "2"])
    doc = report_json(trace)
    gil = doc["gils"][0]
    if doc["python_version"].startswith("3.6."):
        # 3.6's GIL layout is not known: the interval is seen only in the
        # waits' deadlines, to 10 µs, and 1 µs is not seen at all.
        check(abs(gil["switch_interval_s"] - 0.005) < 1e-9, "3.6: %s" % gil)
        return
    check(abs(gil["switch_interval_s"] - 0.005) < 1e-9 and
          0 < gil["switch_interval_other_share"] < 0.5,
          "interval %s, others %s" % (gil["switch_interval_s"], gil["switch_interval_other_share"]))
    text = report(trace)
    check("switch interval 5.00 ms (others during " in text, text)


def case_convoy(tmp):
    trace = traced(tmp, "convoy", ["convoy.py"])
    doc = report_json(trace)
    check(len(doc["convoys"]) >= 1, "no convoy found: %s" % doc)
    c = doc["convoys"][0]
    check(c["victim_name"] == "io-echo" and c["culprit_name"] == "cpu-0",
          "convoy %s" % c)
    check(c["delayed_acquires"] >= 50, "only %d of 100 round-trips delayed" % c["delayed_acquires"])
    check(c["delay_s"] >= 50 * 0.0025, "convoy delay %s s" % c["delay_s"])
    check(doc["verdicts"][0]["kind"] == "convoy", "first verdict %s" % doc["verdicts"])
    text = report(trace)
    check("thread io-echo waited" in text and "cpu-0" in text and
          links_to(text, "convoy"), text)
    # giltrace run wrote the episodes into the trace; Perfetto reads them.
    rows, = tp_query(trace, "SELECT count(*) AS n, sum(s.dur) AS d FROM slice s "
                            "JOIN track t ON s.track_id = t.id "
                            "WHERE s.name LIKE 'convoy: waits for cpu-0%' "
                            "AND t.name LIKE 'convoy victim io-echo%'")
    episodes = sum(x["episodes"] for x in doc["convoys"] if x["victim_name"] == "io-echo"
                   and x["culprit_name"] == "cpu-0")
    check(rows[0]["n"] == episodes, "%s convoy slices in the trace, %d episodes"
          % (rows[0]["n"], episodes))
    size = os.path.getsize(trace)
    s, _, err = run([GT, "report", "--annotate", trace])
    check(s == 0 and "already has its convoy tracks" in err, "second annotation: %s" % err)
    check(os.path.getsize(trace) == size, "annotating twice changed the trace")


def case_no_report(tmp):
    trace = os.path.join(tmp, "recorded.pftrace")
    s, _, err = giltrace_run(trace, [PY, os.path.join(WORKLOADS, "convoy.py"), "30"],
                             extra=["--no-report"])
    check(s == 0 and err.startswith("giltrace: trace written to") and
          len(err.splitlines()) == 1, "run --no-report printed: %r" % err)
    convoy_tracks = ("SELECT count(*) AS n FROM track WHERE name LIKE 'convoy victim%'")
    rows, = tp_query(trace, convoy_tracks)
    check(rows[0]["n"] == 0, "run --no-report wrote convoy tracks")
    s, _, err = run([GT, "report", "--annotate", trace])
    check(s == 0, "report --annotate: %s" % err)
    rows, = tp_query(trace, convoy_tracks)
    check(rows[0]["n"] >= 1, "report --annotate found no convoy to write")


def case_run_summary(tmp):
    """giltrace run reads the trace as it writes it: its summary is the
    report of the finished file, byte for byte (convoy tracks and all)."""
    trace = os.path.join(tmp, "summary.pftrace")
    s, out, err = run([GT, "run", "-o", trace, "--", PY, os.path.join(WORKLOADS, "convoy.py"),
                       "30"])
    check(s == 0, "run: %d %s" % (s, err))
    summary = "".join(l + "\n" for l in err.splitlines()
                      if not l.startswith("giltrace: trace written to"))
    check(summary == report(trace), "run's summary differs from report's:\n%s\n---\n%s"
          % (summary, report(trace)))
    rows, = tp_query(trace, "SELECT count(*) AS n FROM track WHERE name LIKE 'convoy victim%'")
    check(rows[0]["n"] >= 1, "run wrote no convoy tracks")


def case_io_alone(tmp):
    doc = report_json(traced(tmp, "io", ["io_alone.py"]))
    check(doc["convoys"] == [], "convoy without a culprit: %s" % doc["convoys"])
    check(doc["contention_ratio"] < 0.1, "contention %s" % doc["contention_ratio"])


def case_ctypes(tmp):
    doc = report_json(traced(tmp, "ctypes", ["ctypes_release.py"]))
    workers = [t for t in doc["threads"] if t["name"].startswith("worker-")]
    check(len(workers) == 4, "workers: %s" % doc["threads"])
    # 4 x 450 sleeps of 1 ms in parallel: far less than the 1.8 s in series.
    check(doc["wall_s"] < 1.2, "the workers did not run in parallel: %s s" % doc["wall_s"])
    check(doc["contention_ratio"] < 0.2, "contention %s" % doc["contention_ratio"])
    check(all(t["wait_s"] < 0.1 * doc["wall_s"] for t in workers), "long waits: %s" % workers)
    check(doc["convoys"] == [], "convoys: %s" % doc["convoys"])


def case_formats(tmp):
    trace = traced(tmp, "fmt", ["countdown.py", "1000000", "2"])
    doc = report_json(trace)
    for key in ("schema_version", "wall_s", "gil_held_ratio", "contention_ratio",
                "switches_per_s", "switch_interval_s", "threads", "convoys", "gils"):
        check(key in doc, "--json lacks %s" % key)
    for key in ("tid", "name", "wait_s", "wait_count", "wait_p50_us", "wait_p99_us",
                "wait_max_us", "hold_s", "forced_releases"):
        check(all(key in t for t in doc["threads"]), "threads[] lack %s" % key)
    md = report(trace, "--markdown")
    check("| metric | value |" in md and "| thread | tid |" in md, md)
    check(all(("| %s | %d |" % (t["name"], t["tid"])) in md for t in doc["threads"]), md)
    text = report(trace, "--top", "1")
    check("more threads (--top)" in text, text)
    # Options as users of GNU tools write them: --opt=VALUE, after the file.
    check(report(trace, "--top=1") == text and report(trace, "--top", "1") == text,
          "--top=1 differs from --top 1")
    check(json.loads(report(trace, "--json", "--top=1")) == json.loads(report(trace, "--top=1", "--json")),
          "option order changed --json")
    s, out, err = run([GT, "report", trace, "--top"])
    check(s == 2 and err == "giltrace: report: --top needs a value (see giltrace report --help)\n",
          "--top without a value: %d %r" % (s, err))


def case_bad_input(tmp):
    real = traced(tmp, "real", ["countdown.py", "500000", "2"])
    data = open(real, "rb").read()
    files = {"empty": b"", "text": b"this is not a trace\n", "truncated": data[:len(data) // 2],
             # A valid Perfetto packet with nothing of giltrace in it.
             "foreign": b"\x0a\x02\x40\x01"}
    for name, content in files.items():
        path = os.path.join(tmp, name + ".pftrace")
        with open(path, "wb") as f:
            f.write(content)
        s, out, err = run([GT, "report", path])
        check(s == 2 and out == "" and len(err.splitlines()) == 1 and
              err.startswith("giltrace: "), "%s: status %d, %r %r" % (name, s, out, err))
    s, _, err = run([GT, "report", os.path.join(tmp, "missing.pftrace")])
    check(s == 2 and "No such file" in err, "missing file: %d %r" % (s, err))
    s, _, err = run([GT, "report", real, "--top", "many"])
    check(s == 2 and len(err.splitlines()) == 1, "bad --top: %d %r" % (s, err))
    s, _, err = run([GT, "report", real, "--convoy-delay", "-1"])
    check(s == 2 and len(err.splitlines()) == 1, "bad --convoy-delay: %d %r" % (s, err))


def attempts(fn, tries):
    """fn, run up to `tries` times until it passes (see the module's doc)."""
    def retried(tmp):
        for attempt in range(1, tries + 1):
            try:
                return fn(tmp)
            except Failure as f:
                if attempt == tries:
                    raise
                print("attempt %d: %s (noise? again)" % (attempt, f))
    return retried


def test():
    global GT
    GT = env("GILTRACE")
    with kept_on_failure("report") as tmp:
        for name, fn in [("one thread", case_one_thread),
                         ("countdown", attempts(case_countdown, 3)),
                         ("convoy", attempts(case_convoy, 3)),
                         ("interval change", attempts(case_interval_change, 3)),
                         ("no report", attempts(case_no_report, 3)),
                         ("run summary", case_run_summary),
                         ("io alone", attempts(case_io_alone, 3)),
                         ("ctypes", attempts(case_ctypes, 3)),
                         ("formats", case_formats), ("bad input", case_bad_input)]:
            fn(tmp)
            print("%s: ok" % name)


main(test)
