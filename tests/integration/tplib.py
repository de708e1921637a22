"""tplib.py — helpers for integration tests: run giltrace, ask Perfetto.

The integration tests check traces with Perfetto's own trace processor
(tests/tp/tp_query.mjs), not with giltrace's reader, so that a bug shared by
our encoder and our reader cannot hide. Standard library only; Python 3.6+.
"""
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORKLOADS = os.path.join(ROOT, "tests", "workloads")


class Failure(Exception):
    pass


class Hogs:
    """One CPU-bound process per core while in use: a busy shared runner
    (test_check's busy case, tools/bench_gate.py)."""

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                      for _ in range(os.cpu_count() or 1)]
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()


def check(cond, what):
    if not cond:
        raise Failure(what)


def env(name):
    value = os.environ.get(name)
    if not value:
        raise Failure("%s is not set (run through ctest)" % name)
    return value


def run(cmd, timeout=300, env_extra=None, **kw):
    """Runs cmd; returns (exit status, stdout, stderr) as text."""
    e = dict(os.environ)
    if env_extra:
        e.update(env_extra)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, env=e, **kw)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def preloaded(extra=None):
    """Environment for running something with libgiltrace.so preloaded by
    hand, after any LD_PRELOAD already set (the sanitizer runtime must stay
    first), plus extra variables."""
    lib = env("GILTRACE_LIB")
    old = os.environ.get("LD_PRELOAD")
    e = {"LD_PRELOAD": "%s:%s" % (old, lib) if old else lib}
    e.update(extra or {})
    return e


def giltrace_run(trace, cmd, timeout=300, extra=(), env_extra=None, quiet=True):
    """giltrace run [-q] -o trace -- cmd; returns (status, stdout, stderr).
    Without quiet, --no-report: every trace is named, with no summary."""
    gt = env("GILTRACE")
    return run([gt, "run", "-q" if quiet else "--no-report", "-o", trace] + list(extra) + ["--"]
               + list(cmd), timeout=timeout, env_extra=env_extra)


LISTED = re.compile(r"^giltrace: trace written to (\S.*?)(?: \([^()]*\))?$")


def listed_traces(err):
    """The traces `giltrace run` says it wrote, from its stderr."""
    return sorted(m.group(1) for m in map(LISTED.match, err.splitlines()) if m)


def traced_workload(tmp, name, py, args):
    """Runs tests/workloads/<args[0]> [args...] on py under giltrace run;
    returns the trace's path (tmp/name.pftrace)."""
    trace = os.path.join(tmp, name + ".pftrace")
    s, _, err = giltrace_run(trace, [py, os.path.join(WORKLOADS, args[0])] + list(args[1:]))
    check(s == 0, "%s failed under giltrace: %s" % (args, err))
    return trace


def tp_query(trace, *queries):
    """Loads trace in Perfetto's trace processor; returns one row list per
    query. Fails on any import problem the processor reports."""
    tp_dir = env("GILTRACE_TP_DIR")
    node = os.environ.get("NODE", "node")
    script = os.path.join(ROOT, "tests", "tp", "tp_query.mjs")
    status, out, err = run([node, script, trace] + list(queries), timeout=600,
                           env_extra={"TP_DIR": tp_dir})
    try:
        doc = json.loads(out)
    except ValueError:
        raise Failure("trace processor gave no JSON (exit %d): %s" % (status, err.strip()))
    check(not doc.get("problems"), "trace processor import problems: %s" % doc.get("problems"))
    check(status == 0, "trace processor exit %d: %s" % (status, err.strip()))
    return doc["results"]


@contextlib.contextmanager
def kept_on_failure(name):
    """A temporary directory that is kept, and named on stderr, if the test
    fails inside it, so its traces can be looked at."""
    tmp = tempfile.mkdtemp(prefix="giltrace-%s-" % name)
    try:
        yield tmp
    except BaseException:
        print("kept for inspection: %s" % tmp, file=sys.stderr)
        raise
    shutil.rmtree(tmp, ignore_errors=True)


def main(test):
    """Runs test(); prints FAIL and exits 1 on a Failure."""
    try:
        test()
    except Failure as f:
        print("FAIL: %s" % f, file=sys.stderr)
        sys.exit(1)
    print("ok")
