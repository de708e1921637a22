#!/usr/bin/env python3
"""test_processes.py PYTHON — giltrace does not change how a process lives and dies.

For each case the program's stdout, stderr (apart from giltrace's own lines)
and exit status must be what they are without giltrace, and every trace it
leaves must satisfy the invariants (invariants.py), checked by Perfetto:
  fork       a threaded program forks; the child runs threads and os._exit()s:
             the parent's and the child's traces are both complete, their
             threads named by their Python names; -q says it in one line
  fork-warn  3.12+: a single-threaded fork must not warn about threads
             (giltrace's writer thread is stopped around fork)
  invisible  the program sees the same threads, descriptors and GILTRACE_SHM
             variables with and without giltrace
  threads    500 short-lived threads: all seen, all closed, none dropped
  sigterm    SIGTERM to `giltrace run` reaches the program, which dies of it
             (status 143) and still leaves a complete trace
  sigint     SIGINT: KeyboardInterrupt, CPython's exit by SIGINT, complete trace
  sigint-busy  eight Ctrl-Cs beside a CPU hog: each dies of SIGINT (no crash
             of a daemon thread in the finalized interpreter)
  exits      sys.exit(3), os._exit(5) from a thread, exec of another program
  no-gil     3.6 without threads never creates a GIL: a notice, no trace
  sigkill    SIGKILL: under `giltrace run` a complete trace; by hand no end
             record, but the trace up to the last chunk reads
  not-python a non-Python threaded program is untouched; GILTRACE_DISABLE and
             a command that does not exist each get their own words
  bad-env    bad GILTRACE_* values: one line each, defaults used, still traced
             (by hand with GILTRACE_LOG=stderr; under giltrace run, said once
             by giltrace however many processes read them)
  signal-api signal(), bsd_signal(), sysv_signal() set handlers that
             sigaction() then reports (glibc bypasses our sigaction hook)
  reader-gone  `giltrace run ... | head -1` keeps the command's exit status
  output-removed  the program removes or replaces the trace file: giltrace
             says it is lost, never claims it, never overwrites the program's
  after-the-run  a daemon outliving the run starts Python later: not traced
  children   --children: programs the command executes (through sh, through
             subprocess with close_fds) get traces giltrace names; without it
             only the command's own process is traced
  progress   --progress on a terminal (script(1)): a status line redrawn in
             place and erased before giltrace's last line, the program's
             output untouched
  plain      LD_PRELOAD by hand with one GILTRACE_OUTPUT for a program whose
             Python child runs meanwhile: two complete traces, neither
             clobbering the other (also with compression off)
"""
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

from invariants import check_trace
from tplib import (WORKLOADS, Failure, check, env, giltrace_run, kept_on_failure, listed_traces,
                   main, preloaded, run)

PY = sys.argv[1]
GILTRACE_LINE = "giltrace: "


def version():
    _, out, _ = run([PY, "-c", "import sys; print('%d %d' % sys.version_info[:2])"])
    return tuple(int(x) for x in out.split())


def without_giltrace_lines(text):
    return "".join(l for l in text.splitlines(True) if not l.startswith(GILTRACE_LINE))


def same_as_plain(cmd, trace, timeout=120):
    """Runs cmd plain and under giltrace; checks output and status match."""
    s0, o0, e0 = run(cmd, timeout=timeout)
    s1, o1, e1 = giltrace_run(trace, cmd, timeout=timeout)
    check(s1 == s0, "%s: exit status %d under giltrace, %d without" % (cmd, s1, s0))
    check(o1 == o0, "%s: stdout differs:\n%r\n%r" % (cmd, o0, o1))
    check(without_giltrace_lines(e1) == e0, "%s: stderr differs:\n%r\n%r" % (cmd, e0, e1))
    return s1, o1, e1


def thread_names(facts, prefix):
    return sorted(t["name"] for t in facts["threads"] if (t["name"] or "").startswith(prefix))


def case_fork(tmp):
    trace = os.path.join(tmp, "fork.pftrace")
    _, _, err = same_as_plain([PY, os.path.join(WORKLOADS, "forky.py")], trace)
    # -q: one line, whatever the number of processes.
    mine = [l for l in err.splitlines() if l.startswith(GILTRACE_LINE)]
    check(mine == ["giltrace: trace written to %s (2 processes)" % trace],
          "giltrace run -q printed %r" % mine)
    check(os.listdir(tmp) == ["fork.pftrace"], "files beside the trace: %s" % os.listdir(tmp))
    facts = check_trace(trace, max_threads=3)
    check(len(facts["pids"]) == 2, "pids in the trace: %s" % facts["pids"])
    by_pid = {pid: [t for t in facts["threads"] if t["pid"] == pid] for pid in facts["pids"]}
    parent = [ts for ts in by_pid.values() if thread_names({"threads": ts}, "cpu-")]
    child = [ts for ts in by_pid.values() if thread_names({"threads": ts}, "child-")]
    check(len(parent) == 1 and thread_names({"threads": parent[0]}, "cpu-") == ["cpu-0", "cpu-1"],
          "parent threads: %s" % facts["threads"])
    check(len(child) == 1 and parent[0] is not child[0] and
          thread_names({"threads": child[0]}, "child-") == ["child-0", "child-1"],
          "child threads: %s" % facts["threads"])


def case_fork_warn(tmp):
    if version() < (3, 12):
        return
    code = ("import os\npid = os.fork()\nif pid == 0:\n    os._exit(0)\n"
            "os.waitpid(pid, 0)\nprint('ok')\n")
    cmd = [PY, "-W", "always::DeprecationWarning", "-c", code]
    s, out, err = same_as_plain(cmd, os.path.join(tmp, "fw.pftrace"))
    check(s == 0 and out == "ok\n" and "multi-threaded" not in err,
          "a single-threaded fork warned: %s" % err)


def case_invisible(tmp):
    """What the program can see of itself is what it sees without giltrace:
    its threads (giltrace run drains the rings from its own process), its
    descriptors (the shared memory's is closed once mapped), its
    environment apart from the preload settings."""
    code = (WITH_A_THREAD +
            "import os, sys, time\n"
            # The joined thread's OS thread may take a moment to be gone.
            "deadline = time.time() + 5\n"
            "while len(os.listdir('/proc/self/task')) > 1 and time.time() < deadline:\n"
            "    time.sleep(0.01)\n"
            "fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))\n"
            "print(len(os.listdir('/proc/self/task')), fds[:-1],\n"
            "      sorted(k for k in os.environ if k.startswith('GILTRACE_SHM')))\n")
    same_as_plain([PY, "-c", code], os.path.join(tmp, "invisible.pftrace"))
    check_trace(os.path.join(tmp, "invisible.pftrace"))


def case_no_deflate(tmp):
    """Under giltrace run a traced process never compresses: libdeflate is
    not loaded into it (the plain LD_PRELOAD writer loads it when it first
    writes, and its trace is compressed)."""
    code = "print(sum('libdeflate' in l for l in open('/proc/self/maps')))"
    s, out, err = giltrace_run(os.path.join(tmp, "nodeflate.pftrace"), [PY, "-c", code])
    check((s, out) == (0, "0\n"), "libdeflate mapped under giltrace run: %r %s" % (out, err))
    trace = os.path.join(tmp, "plain-deflate.pftrace")
    s, out, err = run([PY, "-c", "import threading; t = threading.Thread(target=print);"
                       " t.start(); t.join()"], env_extra=preloaded({"GILTRACE_OUTPUT": trace}))
    check(s == 0, "plain LD_PRELOAD: %d %s" % (s, err))
    with open(trace, "rb") as f:
        head = f.read(16)
    # A compressed trace starts with a packet (tag 0x0a, a varint length)
    # holding TracePacket field 50, compressed_packets (tag 0x92 0x03).
    i = 1
    while i < len(head) and head[i] & 0x80:
        i += 1
    check(head[:1] == b"\x0a" and head[i + 1:i + 3] == b"\x92\x03",
          "the plain LD_PRELOAD trace is not compressed: %r" % head)


def case_threads(tmp):
    trace = os.path.join(tmp, "threads.pftrace")
    same_as_plain([PY, os.path.join(WORKLOADS, "many_threads.py"), "500"], trace)
    facts = check_trace(trace)
    short = [t for t in facts["threads"] if (t["name"] or "").startswith("short-")]
    check(len(short) == 500, "%d short-lived threads in the trace, expected 500" % len(short))
    check(all(t["holds"] > 0 for t in short), "a short-lived thread never held the GIL")
    check(facts["meta"].get("debug.events_dropped") == "0", "events were dropped")
    # A burst: 3000 threads, at most 51 alive at once, with rings for 64.
    # A ring is free again once the writer has drained its exited thread;
    # no thread may find none free, and nothing may be said or dropped.
    trace = os.path.join(tmp, "burst.pftrace")
    cmd = [PY, os.path.join(WORKLOADS, "many_threads.py"), "3000"]
    s, o, err = giltrace_run(trace, cmd, env_extra={"GILTRACE_MAX_THREADS": "64"})
    check((s, o) == (0, "3000\n") and "threads at once" not in err,
          "burst of 3000 threads, 64 rings: %d %r %s" % (s, o, err))
    facts = check_trace(trace, max_threads=4000)
    short = [t for t in facts["threads"] if (t["name"] or "").startswith("short-")]
    check(len(short) == 3000 and facts["meta"].get("debug.events_dropped") == "0",
          "burst: %d threads in the trace, %s events dropped"
          % (len(short), facts["meta"].get("debug.events_dropped")))


def run_until_ready(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = p.stdout.readline().decode()
    check(line == "ready\n", "%s did not get ready: %r" % (cmd, line))
    time.sleep(0.3)
    return p


def case_signal(tmp, sig, name):
    cmd = [PY, os.path.join(WORKLOADS, "sleeper.py")]
    plain = run_until_ready(cmd)
    plain.send_signal(sig)
    plain.communicate(timeout=60)
    trace = os.path.join(tmp, "%s.pftrace" % name)
    traced = run_until_ready([env("GILTRACE"), "run", "-q", "-o", trace, "--"] + cmd)
    traced.send_signal(sig)  # to giltrace, which passes it on
    traced.communicate(timeout=60)
    want = 128 + (-plain.returncode if plain.returncode < 0 else plain.returncode - 128)
    check(traced.returncode == want, "%s: giltrace exited %d, the plain run %d"
          % (name, traced.returncode, plain.returncode))
    facts = check_trace(trace, max_threads=3)
    check(thread_names(facts, "cpu-") == ["cpu-0", "cpu-1"], "%s: threads %s"
          % (name, facts["threads"]))


def asleep(pid, timeout=30):
    """Waits until the sleeper, pid or a Python process under it (giltrace
    run's child), is in its time.sleep(). A signal that comes earlier, while
    its main thread is between its last check for signals and the sleep
    (seconds, beside a hog, if it waits for the GIL after printing), is
    handled only when the hour-long sleep ends: CPython's own race, traced
    or not, and a human presses Ctrl-C at a sleeping program."""
    def read(path):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return ""

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        todo = [pid]
        while todo:
            p = todo.pop()
            todo += [int(k) for k in read("/proc/%d/task/%d/children" % (p, p)).split()]
            # time.sleep(): clock_nanosleep (3.11+) or select() (before);
            # not a futex, which is the GIL or a lock.
            if read("/proc/%d/comm" % p).startswith("python") and any(
                    w in read("/proc/%d/wchan" % p) for w in ("nanosleep", "select", "poll")):
                return
        time.sleep(0.01)
    raise Failure("pid %d never went to sleep" % pid)


def case_sigint_busy(tmp):
    """Ctrl-C, again and again, beside a CPU hog: CPython finalizes, then
    kills itself with SIGINT; a daemon thread that ran on in between took
    the freed interpreter's GIL (3.10 crashed about one time in five while
    an earlier giltrace's handler finished the trace). It must die of
    SIGINT every time, as untraced. (Before 3.8 there is no exit_sigint,
    and a busy 3.6 misses a Ctrl-C by itself: the signal lands on a
    counting thread while the main one sleeps on in select().)"""
    # 3.10 to 3.12 (a hog per case: on every interpreter at once the
    # suite's parallel runs would crowd the machine for little news).
    s, out, _ = run([PY, "-c", "import sys; print((3, 10) <= sys.version_info[:2] <= (3, 12))"])
    if out.strip() != "True":
        return
    # Not in the sanitized build: the disposition is the same code there.
    # (Each SIGINT waits for the program to be asleep: see asleep().)
    if "libasan" in os.environ.get("LD_PRELOAD", ""):
        return
    hog = subprocess.Popen([PY, "-c", "while True: pass"])
    try:
        cmd = [PY, os.path.join(WORKLOADS, "sleeper.py")]
        plain = run_until_ready(cmd)
        asleep(plain.pid)
        plain.send_signal(signal.SIGINT)
        plain.communicate(timeout=60)
        # 3.8+ dies of SIGINT (130 through giltrace run); older exit 1.
        want = 128 - plain.returncode if plain.returncode < 0 else plain.returncode
        for i in range(8):
            trace = os.path.join(tmp, "busy%d.pftrace" % i)
            p = subprocess.Popen([env("GILTRACE"), "run", "-q", "-o", trace, "--"] + cmd,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            line = p.stdout.readline().decode()
            check(line == "ready\n", "not ready: %r" % line)
            asleep(p.pid)
            p.send_signal(signal.SIGINT)
            _, err = p.communicate(timeout=60)
            check(p.returncode == want, "run %d: giltrace exited %d, not %d: %s"
                  % (i, p.returncode, want, err.decode()[-300:]))
    finally:
        hog.kill()
        hog.wait()


# CPython 3.6 creates its GIL only when a second thread starts.
WITH_A_THREAD = "import threading; t = threading.Thread(target=len, args=((),)); t.start(); t.join()\n"


def case_exits(tmp):
    code = WITH_A_THREAD + "import sys; sys.exit(3)"
    s, _, _ = same_as_plain([PY, "-c", code], os.path.join(tmp, "e3.pftrace"))
    check(s == 3, "sys.exit(3) gave %d" % s)
    check_trace(os.path.join(tmp, "e3.pftrace"))
    code = ("import os, threading\n"
            "def f():\n    n = 300000\n    while n: n -= 1\n    os._exit(5)\n"
            "t = threading.Thread(target=f); t.start()\n"
            "n = 10**9\nwhile n: n -= 1\n")
    s, _, _ = same_as_plain([PY, "-c", code], os.path.join(tmp, "e5.pftrace"))
    check(s == 5, "os._exit(5) gave %d" % s)
    check_trace(os.path.join(tmp, "e5.pftrace"), max_threads=2)
    code = WITH_A_THREAD + "import os, sys; sys.stdout.flush(); os.execv('/bin/echo', ['echo', 'from echo'])"
    s, out, _ = same_as_plain([PY, "-c", code], os.path.join(tmp, "ex.pftrace"))
    check(out == "from echo\n", "exec output %r" % out)
    check_trace(os.path.join(tmp, "ex.pftrace"))


def case_no_gil(tmp):
    """3.6 without threads has no GIL: it says so and writes nothing."""
    if version() >= (3, 7):
        return
    trace = os.path.join(tmp, "nogil.pftrace")
    s, out, err = giltrace_run(trace, [PY, "-c", "print(42)"])
    check(s == 0 and out == "42\n", "the program changed: %d %r" % (s, out))
    check("never created its GIL" in err, "no notice: %r" % err)
    check(not os.path.exists(trace), "a trace without a GIL")


def case_sigkill(tmp):
    code = ("import os, signal, threading, time\n"
            "def f():\n    while True:\n        n = 100000\n        while n: n -= 1\n"
            "threading.Thread(target=f, daemon=True).start()\n"
            "time.sleep(1.5)\nos.kill(os.getpid(), signal.SIGKILL)\n")
    # Under `giltrace run` the rings outlive the program: a complete trace.
    trace = os.path.join(tmp, "kill.pftrace")
    s, _, _ = giltrace_run(trace, [PY, "-c", code])
    check(s == 128 + signal.SIGKILL, "SIGKILL gave status %d" % s)
    facts = check_trace(trace, max_threads=2)
    check(facts["wall"] > 1.4e9, "the killed program's trace covers %d ns" % facts["wall"])
    check(facts["ended"].get("process exit", 0) >= 1, "no hold closed at the kill: %s"
          % facts["ended"])
    # By hand the writer dies with the program: the trace reads, up to its
    # last chunk, and says it is cut short.
    trace = os.path.join(tmp, "kill-plain.pftrace")
    s, _, _ = run([PY, "-c", code], env_extra=preloaded({"GILTRACE_OUTPUT": trace}))
    check(s == -signal.SIGKILL, "SIGKILL gave status %d by hand" % s)
    st, out, err = run([env("GILTRACE"), "report", trace])
    check(st == 0, "report on a killed program's trace failed: %s" % err)
    check("no end record" in out, "the report does not say the trace is cut short:\n%s" % out)


def case_not_python(tmp):
    trace = os.path.join(tmp, "sort.pftrace")
    data = os.path.join(tmp, "numbers.txt")
    with open(data, "w") as f:
        f.writelines("%d\n" % ((i * 7919) % 100003) for i in range(200000))
    cmd = ["sort", "-n", "--parallel=2", "-S", "1M", data]
    s0, o0, e0 = run(cmd)
    s1, o1, e1 = giltrace_run(trace, cmd)
    check((s1, o1) == (s0, o0), "sort behaves differently under giltrace")
    lines = e1.splitlines()
    check(lines == ["giltrace: no trace was written to %s: the command ran no CPython "
                    "interpreter" % trace], "unexpected stderr: %r" % e1)
    check(not os.path.exists(trace), "a non-Python program left a trace")
    # Each reason for no trace has its own words.
    s, _, err = giltrace_run(trace, [PY, "-c", WITH_A_THREAD], env_extra={"GILTRACE_DISABLE": "1"})
    check(s == 0 and err.splitlines() == ["giltrace: no trace was written to %s: "
                                          "GILTRACE_DISABLE is set, nothing was traced" % trace],
          "GILTRACE_DISABLE=1: %d %r" % (s, err))
    s, _, err = giltrace_run(trace, [os.path.join(tmp, "no-such-program")])
    check(s == 127 and err.splitlines()[0].startswith("giltrace: cannot run "),
          "a command that does not exist: %d %r" % (s, err))
    # Plain LD_PRELOAD: the exit status kept; the notice at exit only where
    # asked for (stderr is not a terminal here: by default, nothing).
    s, _, err = run(["sh", "-c", "exit 3"], env_extra=preloaded())
    check(s == 3 and err == "", "sh under LD_PRELOAD: status %d, stderr %r" % (s, err))
    s, _, err = run(["sh", "-c", "exit 3"], env_extra=preloaded({"GILTRACE_LOG": "stderr"}))
    check(s == 3, "sh exit status %d under LD_PRELOAD" % s)
    check(err.splitlines() == ["giltrace: no CPython interpreter in this process; nothing "
                               "was traced"], "plain LD_PRELOAD notice: %r" % err)


def case_bad_env(tmp):
    trace = os.path.join(tmp, "badenv.pftrace")
    bad = preloaded({"GILTRACE_OUTPUT": trace, "GILTRACE_RING_EVENTS": "lots",
                     "GILTRACE_COMPRESS": "13", "GILTRACE_FLUSH_MS": "-5",
                     "GILTRACE_QUIET": "yes", "GILTRACE_LOG": "stderr"})
    s, out, err = run([PY, os.path.join(WORKLOADS, "countdown.py"), "300000", "2"],
                      env_extra=bad)
    check(s == 0 and out == "", "bad settings changed the program: %d %r" % (s, out))
    lines = err.splitlines()
    for var in ("GILTRACE_RING_EVENTS", "GILTRACE_COMPRESS", "GILTRACE_FLUSH_MS",
                "GILTRACE_QUIET"):
        check(sum(var in l for l in lines) == 1, "expected one line about %s: %r" % (var, err))
    check_trace(trace, max_threads=3)


def case_children(tmp):
    """Programs the command executes join the run by default (through
    giltrace's own descriptor table: close_fds leaves them nothing), all in
    the one trace giltrace names; the command itself need not be Python.
    --no-children: only the command's own process."""
    child = ("import threading; t = threading.Thread(target=sum, args=(range(10**6),)); "
             "t.start(); t.join(); print('child')")
    code = (WITH_A_THREAD + "import subprocess, sys\n"
            "print(subprocess.run([sys.executable, '-c', %r], close_fds=True,\n"
            "                     stdout=subprocess.PIPE).stdout.decode(), end='')\n" % child)
    for stem, label, cmd, want in [
            ("ch", "via sh", ["sh", "-c", '"$0" -c "$1"; "$0" -c "$1"', PY, child], "child\n" * 2),
            ("py", "from Python", [PY, "-c", code], "child\n")]:
        trace = os.path.join(tmp, stem + ".pftrace")
        s, out, err = giltrace_run(trace, cmd, quiet=False)
        check(s == 0 and out == want, "children %s: %d %r %r" % (label, s, out, err))
        written = sorted(os.path.join(tmp, f) for f in os.listdir(tmp) if f.startswith(stem + "."))
        check(written == [trace] and listed_traces(err) == written,
              "children %s: wrote %s, named %s" % (label, written, listed_traces(err)))
        check("(2 processes;" in err, "children %s: %r" % (label, err))
        facts = check_trace(trace)
        check(len(facts["pids"]) == 2, "children %s: pids %s" % (label, facts["pids"]))
    # --no-children: only the command's own process.
    trace = os.path.join(tmp, "no.pftrace")
    s, out, err = giltrace_run(trace, [PY, "-c", code], extra=["--no-children"])
    written = [f for f in os.listdir(tmp) if f.startswith("no.")]
    check(s == 0 and written == ["no.pftrace"], "--no-children: %s" % written)
    check(len(check_trace(trace)["pids"]) == 1, "--no-children traced the child too")
    s, out, err = giltrace_run(os.path.join(tmp, "nosh.pftrace"),
                               ["sh", "-c", '"$0" -c "$1"', PY, child], extra=["--no-children"])
    check(s == 0 and "(--no-children: the programs it ran were not traced)" in err,
          "--no-children through sh: %d %r" % (s, err))


SIGNAL_API = WITH_A_THREAD + """
import ctypes, signal
libc = ctypes.CDLL(None)
HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_int)
mine = HANDLER(lambda s: None)
libc.signal.restype = ctypes.c_void_p
libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
def query(sig):
    old = ctypes.create_string_buffer(256)
    libc.sigaction(sig, None, old)
    return ctypes.c_void_p.from_buffer(old).value or 0
want = ctypes.cast(mine, ctypes.c_void_p).value
for name, set_ in (("signal", libc.signal), ("sysv_signal", libc.sysv_signal),
                   ("bsd_signal", libc.bsd_signal)):
    set_.restype = ctypes.c_void_p
    set_.argtypes = [ctypes.c_int, ctypes.c_void_p]
    prev = set_(signal.SIGHUP, ctypes.cast(mine, ctypes.c_void_p))
    print(name, "installed:", query(signal.SIGHUP) == want, "previous:", prev or 0)
    print(name, "back to default, returns mine:", set_(signal.SIGHUP, None) == want,
          "reads default:", query(signal.SIGHUP) == 0)
"""


def case_progress(tmp):
    """--progress on a terminal: a status line redrawn in place and erased
    before giltrace's last word; the program's output untouched."""
    trace = os.path.join(tmp, "progress.pftrace")
    code = WITH_A_THREAD + "import time\ntime.sleep(2.5)\nprint('out')\n"
    inner = " ".join(shlex.quote(a) for a in [env("GILTRACE"), "run", "--progress", "-q", "-o",
                                               trace, "--", PY, "-c", code])
    s, out, err = run(["script", "-qec", inner, "/dev/null"])
    check(s == 0, "script + giltrace run --progress: %d %r" % (s, err))
    check(re.search(r"\rgiltrace: recording for [12]\.\d+ s: \S+ (k )?events, \S+ k?B written, "
                    r"1 process\x1b\[K", out), "no progress line: %r" % out)
    check("\r\x1b[Kgiltrace: trace written to %s" % trace in out, "not erased: %r" % out)
    check("out\r\n" in out, "the program's output: %r" % out)


def case_signal_api(tmp):
    """signal() and its relatives (which glibc implements without calling
    sigaction()) are seen: sigaction() queries tell the truth afterwards,
    with giltrace standing in for SIGHUP's default action or not."""
    s, out, err = same_as_plain([PY, "-c", SIGNAL_API], os.path.join(tmp, "sig.pftrace"))
    check(s == 0 and out.count("True") == 9 and "False" not in out,
          "signal() under giltrace: %r %r" % (out, err))


def case_reader_gone(tmp):
    """A reader of giltrace's stderr that goes away (| head -1) must not
    take the command's exit status with it."""
    gt = env("GILTRACE")
    trace = os.path.join(tmp, "pipe.pftrace")
    code = "import sys, time; print('first', flush=True); time.sleep(0.3); sys.exit(3)"
    s, out, err = run(["bash", "-c", '"$0" run -q -o "$1" -- "$2" -c "$3" 2>&1 | head -1; '
                       'exit "${PIPESTATUS[0]}"', gt, trace, PY, WITH_A_THREAD + code])
    check(s == 3 and out == "first\n", "giltrace run | head -1: status %d, %r %r" % (s, out, err))


def case_output_removed(tmp):
    """The program removes, or puts its own file in place of, the trace
    while giltrace writes it: giltrace says the trace is lost (it never
    claims a trace it did not write), and the program's file stays."""
    code = (WITH_A_THREAD + "import os, sys, time\n"
            "time.sleep(0.3)\n"
            "if sys.argv[1] == 'remove':\n    os.unlink(sys.argv[2])\n"
            "else:\n    open(sys.argv[2] + '.new', 'w').write('mine\\n')\n"
            "    os.rename(sys.argv[2] + '.new', sys.argv[2])\n" + WITH_A_THREAD)
    for how in ("remove", "replace"):
        trace = os.path.join(tmp, how + ".pftrace")
        s, out, err = giltrace_run(trace, [PY, "-c", code, how, trace])
        check(s == 0 and "trace written" not in err and "is lost" in err,
              "%s the trace: %d %r" % (how, s, err))
    with open(os.path.join(tmp, "replace.pftrace")) as f:
        check(f.read() == "mine\n", "the program's own file was overwritten")
    check(not os.path.exists(os.path.join(tmp, "remove.pftrace")), "a removed trace came back")


def case_after_the_run(tmp):
    """A daemon that outlives the run and starts Python later is not traced:
    the run's trace is complete by then."""
    marker = os.path.join(tmp, "daemon-ran")
    late = "import threading; t = threading.Thread(target=len, args=((),)); t.start(); t.join(); open(%r, 'w')" % marker
    code = (WITH_A_THREAD + "import os, sys, time\n"
            "if os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            "        time.sleep(1.0)\n        os.execv(sys.executable, [sys.executable, '-c', %r])\n"
            "    os._exit(0)\n" % late)
    trace = os.path.join(tmp, "run.pftrace")
    s, out, err = giltrace_run(trace, [PY, "-c", code], extra=["--children"], quiet=False)
    deadline = time.time() + 20
    while not os.path.exists(marker) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    check(os.path.exists(marker), "the daemon did not run")
    named = listed_traces(err)
    written = sorted(os.path.join(tmp, f) for f in os.listdir(tmp) if f.endswith(".pftrace"))
    check(s == 0 and named == written, "traces written %s, named %s" % (written, named))


def case_bad_env_run(tmp):
    """Under giltrace run a bad value is said once, by giltrace, however
    many processes read it."""
    trace = os.path.join(tmp, "benv.pftrace")
    s, out, err = giltrace_run(trace, [PY, os.path.join(WORKLOADS, "forky.py")],
                               env_extra={"GILTRACE_RING_EVENTS": "lots",
                                          "GILTRACE_CLOCK": "sundial"})
    check(s == 0, "forky under bad settings: %d %r" % (s, err))
    for var in ("GILTRACE_RING_EVENTS", "GILTRACE_CLOCK"):
        n = sum(var in l for l in err.splitlines())
        check(n == 1, "%d lines about %s: %r" % (n, var, err))


def case_options(tmp):
    """giltrace run's options as users of GNU tools write them: bundled
    short options, --opt=VALUE, and parsing stops at the command (its own
    options, even ours by name, are its own; "--" is optional)."""
    gt = env("GILTRACE")
    trace = os.path.join(tmp, "opts.pftrace")
    # A second thread: CPython 3.6 creates its GIL only then.
    code = ("import sys, threading; t = threading.Thread(target=lambda: None); t.start(); "
            "t.join(); print(sys.argv[1:])")
    s, out, err = run([gt, "run", "-qo", trace, PY, "-c", code, "-q", "--no-report", "-o", "x"])
    check((s, out) == (0, "['-q', '--no-report', '-o', 'x']\n") and os.path.isfile(trace),
          "-qo FILE CMD ARGS: %d %r %s" % (s, out, err))
    s, out, err = run([gt, "run", "--quiet", "--output=" + trace, "--", PY, "-c", code])
    check((s, out) == (0, "[]\n"), "--output=FILE -- CMD: %d %r %s" % (s, out, err))
    s, out, err = run([gt, "run", "-o"])
    check(s == 2 and err == "giltrace: run: -o needs a value (see giltrace run --help)\n",
          "-o without a value: %d %r" % (s, err))


def case_plain(tmp):
    child = ("import threading; t = threading.Thread(target=sum, args=(range(10**6),)); "
             "t.start(); t.join()")
    code = (WITH_A_THREAD + "import subprocess, sys, threading\n"
            "p = subprocess.Popen([sys.executable, '-c', %r])\n"
            "n = 3 * 10**6\nwhile n: n -= 1\n"
            "sys.exit(p.wait())\n" % child)
    for compress in ("1", "0"):
        trace = os.path.join(tmp, "plain%s.pftrace" % compress)
        s, _, err = run([PY, "-c", code], env_extra=preloaded(
            {"GILTRACE_OUTPUT": trace, "GILTRACE_COMPRESS": compress, "GILTRACE_LOG": "stderr"}))
        check(s == 0, "plain LD_PRELOAD run failed: %s" % err)
        # Said by the writer thread, delivered by the thread that finished.
        check(("giltrace: wrote %s (" % trace) in err, "no 'wrote' line asked for: %r" % err)
        others = [f for f in os.listdir(tmp) if f.startswith("plain%s." % compress)
                  and f != os.path.basename(trace)]
        check(len(others) == 1, "expected the child's own trace beside %s: %s" % (trace, others))
        check_trace(trace)
        check_trace(os.path.join(tmp, others[0]))


def test():
    with kept_on_failure("processes") as tmp:
        for name, fn in [("fork", case_fork), ("fork-warn", case_fork_warn),
                         ("invisible", case_invisible), ("threads", case_threads),
                         ("no deflate", case_no_deflate),
                         ("sigterm", lambda t: case_signal(t, signal.SIGTERM, "sigterm")),
                         ("sigint", lambda t: case_signal(t, signal.SIGINT, "sigint")),
                         ("sigint-busy", case_sigint_busy),
                         ("exits", case_exits), ("no-gil", case_no_gil),
                         ("sigkill", case_sigkill),
                         ("not-python", case_not_python), ("bad-env", case_bad_env),
                         ("bad-env-run", case_bad_env_run), ("options", case_options),
                         ("children", case_children), ("progress", case_progress),
                         ("signal-api", case_signal_api), ("reader-gone", case_reader_gone),
                         ("output-removed", case_output_removed),
                         ("after-the-run", case_after_the_run),
                         ("plain", case_plain)]:
            sub = tempfile.mkdtemp(prefix=name + "-", dir=tmp)
            fn(sub)
            print("%s: ok" % name)


main(test)
