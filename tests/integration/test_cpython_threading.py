#!/usr/bin/env python3
"""test_cpython_threading.py PYTHON — CPython's own test_threading under giltrace.

Runs the interpreter's test_threading with and without `giltrace run` and
requires the same outcome for every test case (some cases fail on some
builds without giltrace; what matters is that giltrace changes nothing), the
same exit status, and valid traces — including the ones written by the
processes test_threading forks.
"""
import glob
import os
import re
import sys

from invariants import check_trace
from tplib import check, env, giltrace_run, kept_on_failure, main, run

PY = sys.argv[1]
CASE = re.compile(r"^(test\w+ \([\w.]+\)) \.\.\. (.*)$", re.M)


def outcomes(text):
    """test case -> ok / FAIL / ERROR / skipped / ..."""
    result = {}
    for name, outcome in CASE.findall(text):
        word = outcome.split()[0] if outcome else outcome
        result[name] = "skipped" if word.startswith("skipped") else word
    return result


def test():
    cmd = [PY, "-m", "test", "-v", "test_threading"]
    status0, out0, err0 = run(cmd, timeout=900)
    plain = outcomes(out0 + err0)
    check(len(plain) > 100, "could not read test_threading's results:\n%s" % out0[-2000:])
    with kept_on_failure("test_threading") as tmp:
        trace = os.path.join(tmp, "tt.pftrace")
        status, out, err = giltrace_run(trace, cmd, timeout=900)
        traced = outcomes(out + err)
        diff = sorted((k, plain.get(k), traced.get(k)) for k in set(plain) | set(traced)
                      if plain.get(k) != traced.get(k))
        check(not diff, "outcomes differ (case, without, with): %s" % diff)
        check(status == status0, "exit status %d under giltrace, %d without" % (status, status0))
        children = sorted(glob.glob(os.path.join(tmp, "tt.*.pftrace")))
        # Perfetto checks a sample (each load takes ~1.5 s); our reader all.
        for t in [trace] + children[:4]:
            check_trace(t)
        for t in children:
            st, _, rerr = run([env("GILTRACE"), "report", t])
            check(st == 0, "giltrace report %s: %s" % (t, rerr.strip()))
        print("%d cases, same outcomes; %d child traces valid" % (len(plain), len(children)))


main(test)
