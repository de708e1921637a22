#!/usr/bin/env python3
"""test_harm.py PYTHON — giltrace does no harm to what real programs do.

Every program in tests/harm/ does one thing real programs do (close every
descriptor and open their own files, fork from a thread, exec, die of a
signal, ...). Each runs three times in a scratch directory of its own:
without giltrace, under `giltrace run` and under plain LD_PRELOAD, both
given a *relative* output path. The program's exit status, stdout, stderr
and every file it wrote must be byte-identical to the untraced run — apart
from `giltrace run`'s own lines ("giltrace: ..."), and with nothing at all
added under LD_PRELOAD. giltrace must leave exactly the traces the program's
header announces (`# traces: run=N plain=M`: `giltrace run` writes one trace
holding N process images, plain LD_PRELOAD M traces), `giltrace run` must
name it (and say which processes were killed: `# killed: N`), and each must read: Perfetto's trace processor with zero
import problems and the invariants (invariants.py), or — for a process
killed outright, which leaves a trace without an end record — zero problems
and our reader saying so.

Then the output paths a user may give `-o`: a character device (a scratch
node, and /dev/null itself inside a private mount namespace), a symlink, a
FIFO that is read and one that is not, a directory, a read-only directory, a
missing parent, a name with spaces, and the same path given to two runs at
once. A path that cannot be written is one line and exit 2 before the
program starts; nothing is ever replaced or removed.
"""
import os
import re
import stat
import subprocess
import sys
import tempfile
import threading
import time

from invariants import check_trace
from tplib import ROOT, check, env, kept_on_failure, listed_traces, main, preloaded, run, tp_query

PY = sys.argv[1]
HARM = os.path.join(ROOT, "tests", "harm")


def header(prog):
    want = {}
    with open(prog) as f:
        for line in f:
            m = re.match(r"# traces: run=(\d+) plain=(\d+)", line)
            if m:
                want["run"], want["plain"] = int(m.group(1)), int(m.group(2))
            m = re.match(r"# killed: (\d+)", line)
            if m:
                want["killed"] = int(m.group(1))
            m = re.match(r"# ulimit-v: (\d+)", line)
            if m:
                want["ulimit_v"] = m.group(1)
            if line.startswith("# setsid: yes"):
                want["setsid"] = True
            m = re.match(r"# wall: (\d+)", line)
            if m:
                want["wall_ms"] = int(m.group(1))
    check("run" in want, "%s has no '# traces:' line" % prog)
    return want


def files_under(d):
    """relative path -> bytes, of every regular file below d."""
    out = {}
    for base, _, names in os.walk(d):
        for n in names:
            p = os.path.join(base, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, d)] = f.read()
    return out


def run_in(cmd, cwd, env_extra=None, timeout=120):
    e = dict(os.environ)
    e.update(env_extra or {})
    e["PYTHONDONTWRITEBYTECODE"] = "1"
    p = subprocess.run(cmd, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    status = p.returncode if p.returncode >= 0 else 128 - p.returncode
    return status, p.stdout, p.stderr


def split_giltrace_lines(err):
    """(the program's own stderr, giltrace's lines)."""
    own, ours = [], []
    for line in err.decode(errors="replace").splitlines(True):
        (ours if line.startswith("giltrace: ") else own).append(line)
    return "".join(own).encode(errors="replace"), ours


def check_traces(name, paths, listed=None):
    for t in paths:
        st, out, err = run([env("GILTRACE"), "report", t])
        check(st == 0, "%s: giltrace report %s: %s" % (name, t, err.strip()))
        if "no end record" in out:
            # A process killed outright: the trace reads up to the kill.
            tp_query(t)
        else:
            check_trace(t)


def compare(name, mode, got, want):
    (s1, o1, e1, f1), (s0, o0, e0, f0) = got, want
    check(s1 == s0, "%s (%s): exit status %d, untraced %d" % (name, mode, s1, s0))
    check(o1 == o0, "%s (%s): stdout differs:\n%r\n%r" % (name, mode, o0, o1))
    check(e1 == e0, "%s (%s): stderr differs:\n%r\n%r" % (name, mode, e0, e1))
    check(f1 == f0, "%s (%s): files differ: untraced %s, traced %s"
          % (name, mode, sorted(f0), sorted(f1)))


def wrapped(want, cmd):
    """cmd in a process group of its own (it signals its group) or under
    an address-space limit, as its header asks."""
    if "ulimit_v" in want:
        cmd = ["sh", "-c", 'ulimit -v %s && exec "$@"' % want["ulimit_v"], "sh"] + cmd
    if want.get("setsid"):
        cmd = ["setsid", "-w"] + cmd
    return cmd


def case(tmp, prog):
    name = os.path.basename(prog)[:-3]
    want = header(prog)
    cmd = wrapped(want, [PY, prog])
    base = os.path.join(tmp, name)
    dirs = {m: os.path.join(base, m, "cwd") for m in ("plain", "run", "preload")}
    for m, d in dirs.items():
        os.makedirs(d)
        if m != "plain":
            os.makedirs(os.path.join(base, m, "traces"))
    s0, o0, e0 = run_in(cmd, dirs["plain"])
    untraced = (s0, o0, e0, files_under(dirs["plain"]))

    # giltrace run, relative -o (the program may chdir: traces stay put).
    s1, o1, err = run_in(wrapped(want, [env("GILTRACE"), "run", "--no-report", "-o", "../traces/t.pftrace",
                                        "--", PY, prog]), dirs["run"])
    e1, ours = split_giltrace_lines(err)
    compare(name, "giltrace run", (s1, o1, e1, files_under(dirs["run"])), untraced)
    tdir = os.path.join(base, "run", "traces")
    written = sorted(os.path.join(tdir, f) for f in os.listdir(tdir))
    listed = listed_traces("".join(ours))
    check(listed == written, "%s: giltrace run named %s, wrote %s (its lines: %s)"
          % (name, listed, written, ours))
    # One trace for the run, holding every process image (run=N).
    check(written == [os.path.join(tdir, "t.pftrace")], "%s: giltrace run wrote %s"
          % (name, written))
    images = tp_query(written[0], "SELECT count(*) AS n FROM slice "
                                   "WHERE name = 'giltrace start'")[0][0]["n"]
    check(images == want["run"], "%s: the trace holds %d process images, expected %d"
          % (name, images, want["run"]))
    killed = [l for l in ours if "was killed" in l or " died of SIG" in l]
    check(len(killed) == want.get("killed", 0), "%s: %d traces said killed, expected %d: %s"
          % (name, len(killed), want.get("killed", 0), ours))
    bad = [l for l in ours if "failed" in l or "Bad file descriptor" in l or "cannot" in l]
    check(not bad, "%s: giltrace run complained: %s" % (name, bad))
    check_traces(name, written)
    if "wall_ms" in want:
        facts = check_trace(os.path.join(tdir, "t.pftrace"))
        check(facts["wall"] >= want["wall_ms"] * 1e6, "%s: the trace covers %.0f ms, the run %d+"
              % (name, facts["wall"] / 1e6, want["wall_ms"]))

    # Plain LD_PRELOAD, relative GILTRACE_OUTPUT: not one byte of ours in
    # the program's output.
    s2, o2, e2 = run_in(cmd, dirs["preload"], preloaded({"GILTRACE_OUTPUT": "../traces/p.pftrace"}))
    compare(name, "LD_PRELOAD", (s2, o2, e2, files_under(dirs["preload"])), untraced)
    tdir = os.path.join(base, "preload", "traces")
    written = sorted(os.path.join(tdir, f) for f in os.listdir(tdir))
    check(len(written) == want["plain"], "%s: LD_PRELOAD left %d traces, expected %d: %s"
          % (name, len(written), want["plain"], written))
    check_traces(name, written)
    print("%s: ok (%d + %d traces)" % (name, want["run"], want["plain"]))


# ---- -o ----------------------------------------------------------------------

THREADED = ("import threading; t = threading.Thread(target=sum, args=(range(10**6),)); "
            "t.start(); t.join(); open('ran', 'w').close()")


def gt_run(out, cwd, code=THREADED, timeout=60):
    return run_in([env("GILTRACE"), "run", "-q", "-o", out, "--", PY, "-c", code], cwd,
                  timeout=timeout)


def refused(tmp, out, why, label):
    cwd = tempfile.mkdtemp(dir=tmp)
    s, o, e = gt_run(out, cwd)
    e = e.decode()
    check(s == 2, "-o %s: exit %d, expected 2 (%r)" % (label, s, e))
    check(len(e.splitlines()) == 1 and why in e, "-o %s: expected one line saying %r: %r"
          % (label, why, e))
    check(not os.path.exists(os.path.join(cwd, "ran")), "-o %s: the program ran" % label)


def outputs(tmp):
    gt = env("GILTRACE")
    # A character device: written, not replaced, no summary read back.
    node = os.path.join(tmp, "null")
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    s, _, e = gt_run(node, tmp)
    check(s == 0, "-o a device node: exit %d: %r" % (s, e))
    check(stat.S_ISCHR(os.stat(node).st_mode), "-o a device node: it is no longer one")
    check(b"is not a regular file: no summary" in e, "-o device: nothing said: %r" % e)
    # A device that refuses writes (/dev/full): the program is unharmed,
    # giltrace says the trace failed, the node stays.
    full = os.path.join(tmp, "full")
    os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    s, _, e = gt_run(full, tmp)
    check(s == 0 and b"No space left on device" in e and stat.S_ISCHR(os.stat(full).st_mode),
          "-o a full device: exit %d: %r" % (s, e))
    # /dev/null itself, where a regression cannot hurt: a private /dev.
    if os.geteuid() == 0:
        script = ('mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3\n'
                  'rc=0; "$0" run -q -o /dev/null -- "$1" -c "$2" || rc=$?\n'
                  'test -c /dev/null || { echo "/dev/null replaced" >&2; exit 99; }\n'
                  'exit $rc\n')
        s, _, e = run_in(["unshare", "--mount", "--propagation", "private", "sh", "-ec", script,
                          gt, PY, THREADED], tmp)
        check(s == 0, "-o /dev/null in a private /dev: exit %d: %r" % (s, e))
    else:
        check(os.environ.get("CI") != "true", "-o /dev/null needs root (a private /dev)")
    # A symlink: its target is written; the link stays a link.
    target, link = os.path.join(tmp, "target.pftrace"), os.path.join(tmp, "link.pftrace")
    with open(target, "w") as f:
        f.write("old contents")
    os.symlink("target.pftrace", link)
    s, _, e = gt_run(link, tmp)
    check(s == 0 and os.path.islink(link) and os.readlink(link) == "target.pftrace",
          "-o a symlink: exit %d, link now %r: %r" % (s, os.path.islink(link), e))
    check_trace(target)
    # A FIFO that is read: the reader gets the trace.
    fifo = os.path.join(tmp, "trace.fifo")
    os.mkfifo(fifo)
    got = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    time.sleep(0.1)
    s, _, e = gt_run(fifo, tmp)
    reader.join(30)
    check(s == 0 and got and got[0], "-o a FIFO being read: exit %d, %d bytes: %r"
          % (s, len(got[0]) if got else 0, e))
    copy = os.path.join(tmp, "from-fifo.pftrace")
    with open(copy, "wb") as f:
        f.write(got[0])
    check_trace(copy)
    check(stat.S_ISFIFO(os.stat(fifo).st_mode), "-o a FIFO: no longer a FIFO")
    # A FIFO nobody reads: an error at once, not a hang.
    refused(tmp, fifo, "FIFO that no process is reading", "an unread FIFO")
    # A directory, a missing parent.
    refused(tmp, tmp, "Is a directory", "a directory")
    refused(tmp, os.path.join(tmp, "no", "such", "t.pftrace"), "No such file or directory",
            "a missing parent")
    # A read-only directory (a read-only mount: root writes anywhere else).
    ro = os.path.join(tmp, "ro")
    os.mkdir(ro)
    marker = tempfile.mkdtemp(dir=tmp)
    if os.geteuid() == 0:
        script = ('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"\n'
                  'exec "$0" run -q -o "$1/t.pftrace" -- "$2" -c "open(\'$3/ran\', \'w\')"\n')
        s, _, e = run_in(["unshare", "--mount", "--propagation", "private", "sh", "-ec", script,
                          gt, ro, PY, marker], tmp)
        check(s == 2 and b"Read-only file system" in e and len(e.splitlines()) == 1,
              "-o in a read-only directory: exit %d: %r" % (s, e))
        check(not os.path.exists(os.path.join(marker, "ran")), "read-only -o: the program ran")
    else:
        os.chmod(ro, 0o555)
        refused(tmp, os.path.join(ro, "t.pftrace"), "Permission denied", "a read-only directory")
    # Spaces in the name; %p with a relative directory.
    spaced = os.path.join(tmp, "my traces")
    os.mkdir(spaced)
    s, _, e = gt_run("my traces/a trace.pftrace", tmp)
    check(s == 0, "-o with spaces: exit %d: %r" % (s, e))
    check_trace(os.path.join(spaced, "a trace.pftrace"))
    # The same -o for two runs at once: the second says so before it starts.
    same = os.path.join(tmp, "same.pftrace")
    slow = "import time, threading; t = threading.Thread(target=time.sleep, args=(3,)); t.start(); t.join()"
    first = subprocess.Popen([gt, "run", "-q", "-o", same, "--", PY, "-c", slow],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 10
    while time.time() < deadline and not (os.path.exists(same) and os.path.getsize(same)):
        time.sleep(0.05)
    refused(tmp, same, "another giltrace is writing it", "the output of a running giltrace")
    first.communicate(timeout=60)
    check(first.returncode == 0, "the first of two runs on one -o failed")
    check_trace(same)
    print("-o cases: ok")


def test():
    progs = sorted(os.path.join(HARM, p) for p in os.listdir(HARM)
                   if p.endswith(".py") and not p.startswith("_"))
    # HARM_ONLY=name,name,-o: a subset (the sanitized build's, for time).
    only = [n for n in os.environ.get("HARM_ONLY", "").split(",") if n]
    with kept_on_failure("harm") as tmp:
        for prog in progs:
            if not only or os.path.basename(prog)[:-3] in only:
                t0 = time.time()
                case(tmp, prog)
                print("  %.1f s" % (time.time() - t0))
        if not only or "-o" in only:
            outputs(tempfile.mkdtemp(prefix="outputs-", dir=tmp))


main(test)
