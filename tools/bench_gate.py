#!/usr/bin/env python3
"""bench_gate.py BUILD [--jobs N] [--runs K] [--python PY]... [--workload W]...
-- does `giltrace check` cry wolf on a busy CI runner, and does it still
catch real regressions? `make bench-gate` runs this; docs/ci.md records
the figures.

For each interpreter and workload, as a CI job would:
  baseline      K runs on the idle machine, each written as report --json
  false alarms  N jobs on a busy machine (a CPU-bound process per core
                beside it, started here): each K runs of the unchanged
                program, checked against the baseline by their medians
                (giltrace check RUN... --baseline BASE... ); a job that
                fails is a false alarm
  detection     N jobs of one run each (--detect-runs) of the program with a
                planted regression, idle and busy: a job that passes is a miss.
                Planted: sys.setswitchinterval(0.05), one more CPU-bound
                thread
Each job is judged twice from the same traces: with check's defaults (CPU
waits left out) and with --raw (CPU waits in, what giltrace 0.1 gated on).

Workloads: countdown (two CPU-bound threads), convoy (an I/O thread behind
a CPU-bound one), jsonhash (a ThreadPoolExecutor doing json.dumps beside
hashlib). Figures, not pass/fail: the exit status is 0 unless something
could not run. --quick: 5 jobs of 3 runs, for trying it out.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "tests", "workloads")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from tplib import Hogs  # noqa: E402  (the test suite's busy runner)

# name: (arguments, {regression: the arguments instead})
WORKLOADS = {
    "countdown": (["countdown.py", "--seconds", "1"],
                  {"interval": ["countdown.py", "--seconds", "1", "--switch-interval", "0.05"],
                   "thread": ["countdown.py", "0", "3", "--seconds", "1"]}),
    "convoy": (["convoy.py", "150"],
               {"interval": ["convoy.py", "150", "--switch-interval", "0.05"],
                "thread": ["convoy.py", "150", "--cpu-threads", "2"]}),
    "jsonhash": (["jsonhash.py", "--seconds", "1"],
                 {"interval": ["jsonhash.py", "--seconds", "1", "--switch-interval", "0.05"],
                  "thread": ["jsonhash.py", "--seconds", "1", "--cpu-threads", "1"]}),
}


def default_pythons():
    """A pyenv 3.12 and the distro's stripped 3.11, found as the suite finds
    interpreters (tests/find_pythons.py)."""
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "find_pythons.py")],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    found = dict(l.split(None, 1) for l in out.splitlines() if l.strip())
    pick = [p.strip() for t, p in found.items() if t.startswith("pyenv-3.12")]
    pick += [p.strip() for t, p in found.items() if t == "distro-python3.11"]
    return pick


def command(name, regression):
    args, planted = WORKLOADS[name]
    return planted[regression] if regression else args


def record(gt, py, args, out, env):
    """One traced run of the workload into out; its report --json beside."""
    subprocess.run([gt, "run", "-q", "-o", out, "--", py] + args, cwd=WORK, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    with open(out + ".json", "w") as f:
        subprocess.run([gt, "report", "--json", out], stdout=f, check=True)
    return out + ".json"


def judged(gt, runs, base):
    """(default, raw): does check pass the runs against the baseline?"""
    bases = [a for b in base for a in ("--baseline", b)]
    ok = []
    for extra in ([], ["--raw"]):
        rc = subprocess.run([gt, "check"] + runs + bases + extra, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, universal_newlines=True)
        if rc.returncode not in (0, 1):
            sys.exit("check failed: %s" % rc.stderr.strip())
        ok.append(rc.returncode == 0)
    return ok


def tally(rows, key, passed):
    r = rows.setdefault(key, [0, 0, 0])
    r[0] += passed[0]
    r[1] += passed[1]
    r[2] += 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--jobs", type=int, default=20)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--python", action="append")
    ap.add_argument("--workload", action="append", choices=sorted(WORKLOADS))
    ap.add_argument("--detect-runs", type=int, default=1,
                    help="runs per detection job (default 1: harder than the recipe's 3)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--program", action="append", choices=["unchanged", "interval", "thread"],
                    help="only these programs (default: all)")
    ap.add_argument("--hogs", choices=["yes", "no"], help="only with or only without them")
    ap.add_argument("--json", help="write the tallies here too")
    a = ap.parse_args()
    if a.quick:
        a.jobs = 5
    gt = os.path.join(os.path.abspath(a.build), "giltrace")
    pythons = a.python or default_pythons()
    if not pythons:
        sys.exit("no interpreter found (give --python)")
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    rows = {}
    tmp = tempfile.mkdtemp(prefix="giltrace-bench-gate-")
    try:
        for py in pythons:
            for w in a.workload or sorted(WORKLOADS):
                tag = "%s %s" % (os.path.basename(py), w)
                n = [0]

                def path():
                    n[0] += 1
                    return os.path.join(tmp, "%s-%s-%d.pftrace" % (os.path.basename(py), w, n[0]))

                base = [record(gt, py, command(w, None), path(), env) for _ in range(a.runs)]
                for busy in (False, True):
                    for regression in (None, "interval", "thread"):
                        if regression is None and not busy:
                            continue  # the baseline's own conditions
                        if a.program and (regression or "unchanged") not in a.program:
                            continue
                        if a.hogs and (a.hogs == "yes") != busy:
                            continue
                        runs_per_job = a.runs if regression is None else a.detect_runs
                        for _ in range(a.jobs):
                            if busy:
                                with Hogs():
                                    runs = [record(gt, py, command(w, regression), path(), env)
                                            for _ in range(runs_per_job)]
                            else:
                                runs = [record(gt, py, command(w, regression), path(), env)
                                        for _ in range(runs_per_job)]
                            passed = judged(gt, runs, base)
                            tally(rows, (tag, regression or "unchanged", busy), passed)
                            for r in runs:
                                os.unlink(r[:-5])
                print(tag, "done", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print("%-26s %-10s %-5s %17s %17s" % ("INTERPRETER WORKLOAD", "PROGRAM", "HOGS",
                                          "CHECK (default)", "CHECK --raw"))
    for (tag, what, busy), (ok, ok_raw, total) in sorted(rows.items()):
        if what == "unchanged":  # passing is right: count false alarms
            cells = ["%d/%d false alarms" % (total - x, total) for x in (ok, ok_raw)]
        else:                    # failing is right: count catches
            cells = ["%d/%d caught" % (total - x, total) for x in (ok, ok_raw)]
        print("%-26s %-10s %-5s %17s %17s" % (tag, what, "yes" if busy else "no", *cells))
    if a.json:
        with open(a.json, "w") as f:
            json.dump([{"workload": t, "program": w, "hogs": b, "jobs": n,
                        "passed_default": ok, "passed_raw": okr}
                       for (t, w, b), (ok, okr, n) in sorted(rows.items())], f, indent=1)


if __name__ == "__main__":
    main()
