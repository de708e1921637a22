#!/usr/bin/env python3
"""test_check.py PYTHON — `giltrace check` gates on real regressions only.

  same        a trace against its own baseline: exit 0, every metric ok
  rerun       another run of the same programs (convoy, countdown) against
              the first one's baseline: exit 0 (the default tolerances
              absorb run-to-run noise; on this kind of shared VM a run now
              and then loses a core for a while, so one of up to three
              reruns must pass)
  interval    the convoy with sys.setswitchinterval(0.05): exit 1, the
              (time-weighted) mean wait regressed
  extra cpu   the convoy with a second CPU-bound thread: exit 1, the waiter
              count regressed (contention, near 1 already, cannot grow much)
The CPU-bound threads of these workloads run for as long as the I/O does
(convoy) or for a fixed time (countdown --seconds), so that every run's
metrics describe the same situation however the scheduler treats it; the
regressed variants do fewer round-trips, since each takes far longer.
  limits      --max-METRIC without a baseline, --tolerance, a JSON as the
              current input, --markdown
  usage       nothing to compare with, a bad baseline, an unknown metric, a
              bad value, a missing trace: one line, exit 2
"""
import json
import os
import sys

from tplib import check, env, kept_on_failure, main, run, traced_workload

PY = sys.argv[1]
GT = None


def traced(tmp, name, args):
    return traced_workload(tmp, name, PY, args)


def baseline(tmp, trace):
    path = trace.replace(".pftrace", ".json")
    s, out, err = run([GT, "report", "--json", trace])
    check(s == 0, "report --json: %s" % err)
    with open(path, "w") as f:
        f.write(out)
    return path


METRICS = ("contention-ratio", "mean-waiters", "wait-weighted-mean", "wait-mean", "wait-p99",
           "forced-per-s", "convoy-delay-ratio")
COUNT = ["countdown.py", "--seconds", "0.4", "0", "2"]


def gate(*args):
    return run([GT, "check"] + list(args))


def verdicts(out):
    """metric -> verdict, from the text table."""
    got = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[0] in METRICS:
            got[parts[0]] = parts[-1]
    return got


def test():
    global GT
    GT = env("GILTRACE")
    with kept_on_failure("check") as tmp:
        convoy = traced(tmp, "convoy", ["convoy.py"])
        base = baseline(tmp, convoy)
        s, out, err = gate(convoy, "--baseline", base)
        check(s == 0 and set(verdicts(out).values()) == {"ok", "info"},
              "a trace against its own baseline: %d\n%s%s" % (s, out, err))
        print("same: ok")

        count = traced(tmp, "count", COUNT)
        count_base = baseline(tmp, count)
        for name, args, base_json in (("convoy", ["convoy.py"], base),
                                      ("count", COUNT, count_base)):
            for attempt in range(3):
                again = traced(tmp, "%s-again-%d" % (name, attempt), args)
                s, out, err = gate(again, "--baseline", base_json)
                if s == 0:
                    break
                print("rerun of %s %d regressed (noise?):\n%s" % (name, attempt, out))
            check(s == 0, "three reruns of %s regressed:\n%s" % (name, out))
        print("rerun: ok")

        slow = traced(tmp, "convoy-slow", ["convoy.py", "20", "--switch-interval", "0.05"])
        s, out, err = gate(slow, "--baseline", base)
        v = verdicts(out)
        check(s == 1 and v.get("wait-weighted-mean") == "REGRESSION",
              "switch interval 0.05 did not regress: %d\n%s" % (s, out))
        print("interval: ok")

        more = traced(tmp, "convoy-2cpu", ["convoy.py", "40", "--cpu-threads", "2"])
        s, out, err = gate(more, "--baseline", base)
        v = verdicts(out)
        check(s == 1 and v.get("mean-waiters") == "REGRESSION",
              "an extra CPU thread did not regress: %d\n%s" % (s, out))
        print("extra cpu: ok")

        s, out, _ = gate(count, "--max-contention-ratio", "20%", "--max-wait-p99", "1s")
        v = verdicts(out)
        check(s == 1 and v["contention-ratio"] == "REGRESSION" and v["wait-p99"] == "ok",
              "absolute limits: %d\n%s" % (s, out))
        s, out, _ = gate(count, "--max-contention-ratio", "1.0")
        check(s == 0, "a limit of 1.0 failed:\n%s" % out)
        # A generous tolerance lets the slower convoy pass; JSON as input.
        slow_json = baseline(tmp, slow)
        wide = []
        for metric in METRICS:
            wide += ["--tolerance", metric + "=100000%"]
        s, out, _ = gate(slow_json, "--baseline", base, *wide)
        check(s == 0, "--tolerance did not widen the limit:\n%s" % out)
        s, out, _ = gate(more, "--baseline", base, "--markdown")
        check(s == 1 and out.startswith("| metric | baseline | current |") and
              "**regression**" in out, "markdown:\n%s" % out)
        print("limits: ok")

        bad_json = os.path.join(tmp, "bad.json")
        with open(bad_json, "w") as f:
            f.write('{"schema_version": 1, "contention_ratio": "high"}')
        not_json = os.path.join(tmp, "not.json")
        with open(not_json, "w") as f:
            f.write("{ this is not json")
        future = os.path.join(tmp, "future.json")
        doc = json.load(open(base))
        doc["schema_version"] = 99
        with open(future, "w") as f:
            json.dump(doc, f)
        for args in ([convoy], [convoy, "--baseline", bad_json],
                     [convoy, "--baseline", not_json], [convoy, "--baseline", future],
                     [convoy, "--baseline", os.path.join(tmp, "none.json")],
                     [convoy, "--max-frobs", "1"], [convoy, "--max-wait-p99", "soon"],
                     [convoy, "--tolerance", "wait-p99"],
                     [os.path.join(tmp, "none.pftrace"), "--baseline", base],
                     [convoy, "--baseline", base, "--bogus"]):
            s, out, err = gate(*args)
            check(s == 2 and len(err.splitlines()) == 1 and err.startswith("giltrace: "),
                  "check %s: status %d, %r" % (args, s, err))
        print("usage: ok")


main(test)
