#!/usr/bin/env python3
"""test_check.py PYTHON — `giltrace check` gates on real regressions only.

  same        a trace against its own baseline: exit 0, every metric ok
  rerun       a run of the same program (convoy, countdown) right after
              the baseline's: exit 0 (the default tolerances absorb
              run-to-run noise; one of up to three pairs must pass)
  busy        three runs of the countdown beside a CPU-bound process per
              core, against three baselines recorded before the hogs
              started: exit 0, their waits for a CPU are left out (and
              said); with a third CPU-bound thread, beside the hogs too:
              exit 1, the weighted median wait regressed
  interval    the convoy with sys.setswitchinterval(0.05): exit 1, the
              time-weighted median wait regressed
  extra cpu   the convoy with four CPU-bound threads: exit 1, the waiter
              count regressed (contention, near 1 already, cannot grow much)
The CPU-bound threads of these workloads run for as long as the I/O does
(convoy) or for a fixed time (countdown --seconds), so that every run's
metrics describe the same situation however the scheduler treats it; the
regressed variants do fewer round-trips, since each takes far longer.
  limits      --max-METRIC without a baseline, --tolerance, a JSON as the
              current input, --markdown
  unsplit     a baseline of an older giltrace (no split in its JSON) is
              compared with CPU waits in and said so; a run recorded with
              GILTRACE_CPU_SPLIT=0 says why in the JSON (nulls, never a
              guess) and check compares it with CPU waits in on both sides
  usage       nothing to compare with, a bad baseline, an unknown metric, a
              bad value, a missing trace: one line, exit 2
"""
import json
import os
import sys

from tplib import (Hogs, check, env, giltrace_run, kept_on_failure, main, run,
                   traced_workload, WORKLOADS)

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


METRICS = ("contention-ratio", "mean-waiters", "wait-weighted-median", "wait-weighted-mean",
           "wait-mean", "wait-p99",
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
        for name, args in (("convoy", ["convoy.py"]), ("count", COUNT)):
            # Each attempt is a pair of runs made one right after the
            # other: on a shared machine the load changes from one minute
            # to the next, and a baseline is only meant to be compared with
            # runs made in the same conditions.
            for attempt in range(3):
                first = traced(tmp, "%s-pair-%d" % (name, attempt), args)
                again = traced(tmp, "%s-again-%d" % (name, attempt), args)
                s, out, err = gate(again, "--baseline", baseline(tmp, first))
                if s == 0:
                    break
                print("rerun of %s %d regressed (noise?):\n%s" % (name, attempt, out))
            check(s == 0, "three reruns of %s regressed:\n%s" % (name, out))
        print("rerun: ok")

        # The recipe of docs/ci.md on a busy runner: medians of three runs
        # against medians of three baselines recorded before the hogs.
        bases = [baseline(tmp, traced(tmp, "count-base-%d" % i, COUNT)) for i in range(3)]
        against = [a for b in bases for a in ("--baseline", b)]
        with Hogs():
            busy = [traced(tmp, "count-busy-%d" % i, COUNT) for i in range(3)]
            worse = traced(tmp, "count-3cpu-busy", COUNT[:-1] + ["3"])
        shares = [json.load(open(baseline(tmp, t)))["cpu_wait_share"] for t in busy]
        check(all(x is not None for x in shares),
              "waits are not split: %s" % json.load(open(baseline(tmp, busy[0])))["cpu_split"])
        check(max(shares) > 0.02, "the hogs never kept a waiter off a CPU: %s" % shares)
        s, out, err = gate(*(busy + against))
        check(s == 0, "a busy rerun of the countdown failed (CPU waits %s):\n%s%s" %
              (shares, out, err))
        s, out, err = gate(worse, *against)
        check(s == 1 and verdicts(out).get("wait-weighted-median") == "REGRESSION",
              "a third CPU-bound thread beside the hogs passed:\n%s%s" % (out, err))
        print("busy: ok (CPU waits %s)" % ", ".join("%.0f%%" % (100 * x) for x in shares))

        slow = traced(tmp, "convoy-slow", ["convoy.py", "20", "--switch-interval", "0.05"])
        s, out, err = gate(slow, "--baseline", base)
        v = verdicts(out)
        check(s == 1 and v.get("wait-weighted-median") == "REGRESSION",
              "switch interval 0.05 did not regress: %d\n%s" % (s, out))
        print("interval: ok")

        # Four CPU threads: three of them are always waiting for the GIL
        # (a waiter is counted whether or not a CPU is free to run it), so
        # the waiter count is far beyond the baseline's ~0.9 however busy
        # the machine.
        more = traced(tmp, "convoy-4cpu", ["convoy.py", "40", "--cpu-threads", "4"])
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
        # --opt=VALUE, as GNU tools take it.
        s2, out2, _ = gate(count, "--max-contention-ratio=20%", "--max-wait-p99=1s")
        check(s2 == 1 and verdicts(out2)["contention-ratio"] == "REGRESSION" and
              verdicts(out2)["wait-p99"] == "ok", "--max-METRIC=VALUE: %d\n%s" % (s2, out2))
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

        # The JSON of giltrace 0.1: no split. Still a baseline.
        old = json.load(open(base))
        for k in [k for k in old if "excl_cpu" in k or k in (
                "cpu_split", "wait_cpu_s", "wait_holder_no_cpu_s", "cpu_wait_share")]:
            del old[k]
        old_json = os.path.join(tmp, "old.json")
        with open(old_json, "w") as f:
            json.dump(old, f)
        s, out, err = gate(convoy, "--baseline", old_json)
        check(s == 0 and "the baseline's waits are not split" in out,
              "an old baseline: %d\n%s%s" % (s, out, err))
        off = os.path.join(tmp, "off.pftrace")
        s, _, err = giltrace_run(off, [PY, os.path.join(WORKLOADS, COUNT[0])] + COUNT[1:],
                                 env_extra={"GILTRACE_CPU_SPLIT": "0"})
        check(s == 0, "GILTRACE_CPU_SPLIT=0: %s" % err)
        doc = json.load(open(baseline(tmp, off)))
        check(doc["cpu_split"] == "off: GILTRACE_CPU_SPLIT=0" and
              doc["wait_weighted_mean_excl_cpu_us"] is None,
              "split off: %s %s" % (doc["cpu_split"], doc["wait_weighted_mean_excl_cpu_us"]))
        s, out, err = gate(off, "--baseline", baseline(tmp, count))
        check(s in (0, 1) and "not split into waiting for the GIL and for a CPU (off: "
              "GILTRACE_CPU_SPLIT=0): the metrics include CPU waits on both sides" in out and
              "wait-weighted-median (raw)" in out, "split off, checked:\n%s%s" % (out, err))
        print("unsplit: ok")

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
        # Values a limit would silently misread: refused, saying how to
        # write what was meant.
        for args, says in ((["--max-contention-ratio", "20"], "write 20% for a percentage"),
                           (["--max-convoy-delay-ratio=1.5"], "write 1.5% for a percentage"),
                           (["--max-wait-p99", "5"], "has no unit: write 5ms"),
                           (["--tolerance", "wait-p99=20"], "relative part 20 is above 1"),
                           (["--tolerance", "wait-p99=50%,2"], "absolute part 2 has no unit")):
            s, out, err = gate(convoy, *args)
            check(s == 2 and len(err.splitlines()) == 1 and says in err,
                  "check %s: status %d, %r" % (args, s, err))
        s, out, err = gate(convoy, "--max-contention-ratio", "1", "--max-wait-p99", "2s")
        check(s == 0, "a ratio of exactly 1 and a duration with its unit: %d %r" % (s, err))
        print("usage: ok")


main(test)
