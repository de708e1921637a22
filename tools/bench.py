#!/usr/bin/env python3
"""bench.py BUILD [--python PY] [--reps N] -- giltrace's overhead, measured.

`make bench` runs this. Figures, not pass/fail; docs/performance.md explains
them and records the latest. Every comparison is made within one run, with
the runs interleaved in rounds (base, traced, base, traced, ...); a ratio is
the median of the rounds' ratios, because this kind of VM
drifts by tens of percent over minutes.

  workloads   wall time of real CPython workloads without and with giltrace
              (LD_PRELOAD): the program's own (recording, until the trace
              is written), the time giltrace run's summary adds afterwards,
              the ratio, the added ns per GIL event and the trace's bytes
              per event; for the pipe loop also a control with
              an idle extra thread (what any second thread costs a
              single-threaded program) and pure pass-through
  hot path    tests/bench/fakegil: CPython's take/drop pthread sequence in a
              tight C loop, timed in bursts that fit one ring: ns per event
              the recording adds, with the writer never behind
  writer      tests/bench/encode_bench: the writer's ns per event to encode
              and compress, and bytes per event
  CPU waits   what splitting waits into waiting for the GIL and for a CPU
              costs (docs/metrics.md#cpu-waits): one run-delay read
              (tests/bench/sched_read), the reads per contended wait
              (counted with strace, when installed), and the countdown and
              convoy under giltrace run with and without the split
              (GILTRACE_CPU_SPLIT=0), interleaved
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "tests", "workloads")


def default_python():
    """A CPython 3.12 found the way the test suite finds interpreters
    (tests/find_pythons.py), else python3: the figures in
    docs/performance.md are 3.12's."""
    out = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "find_pythons.py")],
                         stdout=subprocess.PIPE, universal_newlines=True).stdout
    for line in out.splitlines():
        tag, path = line.split(" ", 1)
        if tag.split("-")[-1].startswith("3.12") or tag.endswith("python3.12"):
            return path
    return "python3"


def wall(cmd, env):
    """Wall time of one run; its stderr (for event counts)."""
    e = dict(os.environ)
    e.update(env)
    t = time.perf_counter()
    p = subprocess.run(cmd, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    if p.returncode:
        sys.exit("bench: %s failed: %s" % (cmd, p.stderr.decode()[-500:]))
    return dt, p.stderr.decode(errors="replace")


def interleaved(variants, reps):
    """Runs each (name, cmd, env) reps times, interleaved; name -> times."""
    times = {name: [] for name, _, _ in variants}
    last_err = {}
    for _ in range(reps):
        for name, cmd, env in variants:
            dt, err = wall(cmd, env)
            times[name].append(dt)
            last_err[name] = err
    return times, last_err


def events_in(stderr, trace):
    """Events in trace (a child process may have written its own, too)."""
    m = re.search(r"wrote %s \((\d+) GIL events" % re.escape(trace), stderr)
    return int(m.group(1)) if m else 0


def dropped_in(stderr):
    m = re.search(r"(\d+) of \d+ GIL events were dropped", stderr)
    return int(m.group(1)) if m else 0


def bench_workloads(build, py, reps, tmp):
    giltrace = os.path.join(build, "giltrace")
    lib = os.path.join(build, "libgiltrace.so")
    idle = os.path.join(build, "tests", "libidle_thread.so")
    trace = os.path.join(tmp, "bench.pftrace")
    plain_trace = os.path.join(tmp, "plain.pftrace")
    workloads = [
        ("countdown (2 CPU threads)", [os.path.join(WORK, "countdown.py")], False),
        ("convoy (I/O thread + CPU thread)", [os.path.join(WORK, "convoy.py"), "100", "25000000"], False),
        ("pipe loop (1 thread, 200k write+read)", [os.path.join(WORK, "pipeloop.py")], True),
    ]
    rows = []
    for title, args, controls in workloads:
        cmd = [py] + args
        variants = [
            ("base", cmd, {}),
            # What users run: giltrace writes the trace from its own
            # process. The program's own slowdown is that of recording
            # (--no-report); the summary (and convoy tracks) that giltrace
            # run then computes by reading the trace back is extra time
            # after the program ended, shown separately.
            ("run", [giltrace, "run", "-q", "--no-report", "-o", trace, "--"] + cmd, {}),
            ("run+report", [giltrace, "run", "-q", "-o", trace, "--"] + cmd, {}),
            # Plain LD_PRELOAD: a writer thread in the program.
            ("preload", cmd, {"LD_PRELOAD": lib, "GILTRACE_OUTPUT": plain_trace,
                              "GILTRACE_LOG": "stderr"}),
        ]
        if controls:
            variants += [("idle thread", cmd, {"LD_PRELOAD": idle}),
                         ("pass-through", cmd, {"LD_PRELOAD": lib, "GILTRACE_DISABLE": "1"})]
        times, err = interleaved(variants, reps)
        med = {k: statistics.median(v) for k, v in times.items()}

        def ratio(name, over="base"):
            """Median of the per-round ratios: a round's runs follow each
            other within a second or two, so they share the VM's mood,
            which drifts by more than the effects measured here."""
            return statistics.median(a / b for a, b in zip(times[name], times[over]))

        events = events_in(err["preload"], plain_trace)
        row = {
            "workload": title,
            "base_ms": med["base"] * 1e3,
            "run_ms": med["run"] * 1e3,
            "ratio": ratio("run"),
            "report_ms": statistics.median(a - b for a, b in zip(times["run+report"],
                                                                  times["run"])) * 1e3,
            "preload_ratio": ratio("preload"),
            "events": events,
            "ns_per_event": (ratio("run") - 1) * med["base"] * 1e9 / events if events else 0,
            "bytes_per_event": os.path.getsize(trace) / events if events else 0,
            "dropped": dropped_in(err["run"]) + dropped_in(err["preload"]),
        }
        if controls:
            row["idle_ratio"] = ratio("idle thread")
            row["passthrough_ratio"] = ratio("pass-through")
        rows.append(row)
        print("  %s: done" % title, file=sys.stderr)
    return rows


def bench_hot_path(build, reps, tmp):
    """ns per event on CPython's exact take/drop sequence (fakegil), without
    the writer ever behind: under `giltrace run` (the program stays single-
    threaded) and with plain LD_PRELOAD (a writer thread)."""
    fakegil = os.path.join(build, "tests", "fakegil")
    giltrace = os.path.join(build, "giltrace")
    lib = os.path.join(build, "libgiltrace.so")
    cmd = [fakegil, "4000", "1", "0", "40"]  # 40 bursts of 8000 events
    fg = os.path.join(tmp, "fg.pftrace")
    variants = [("base", cmd, {}),
                ("run", [giltrace, "run", "-q", "-o", fg, "--"] + cmd, {}),
                ("preload", cmd, {"LD_PRELOAD": lib, "GILTRACE_OUTPUT": fg,
                                  "GILTRACE_QUIET": "1", "GILTRACE_LOG": "stderr"}),
                ("idle thread", cmd, {"LD_PRELOAD": os.path.join(build, "tests",
                                                                 "libidle_thread.so")}),
                ("pass-through", cmd, {"LD_PRELOAD": lib, "GILTRACE_DISABLE": "1"})]
    per_cycle = {name: [] for name, _, _ in variants}
    for _ in range(reps):
        for name, c, env in variants:
            e = dict(os.environ)
            e.update(env)
            out = subprocess.run(c, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 check=True)
            if b"dropped" in out.stderr:
                sys.exit("bench: the hot-path benchmark dropped events")
            per_cycle[name].append(float(out.stdout.split()[0]))
    med = {k: statistics.median(v) for k, v in per_cycle.items()}
    # A cycle is one release and one acquire: two events.
    per_event = lambda name: (med[name] - med["base"]) / 2
    return {"base_ns_per_cycle": med["base"],
            "run_ns_per_event": per_event("run"),
            "preload_ns_per_event": per_event("preload"),
            "idle_ns_per_event": per_event("idle thread"),
            "passthrough_ns_per_event": per_event("pass-through"),
            "spread": [round((x - med["base"]) / 2, 1) for x in sorted(per_cycle["run"])]}


def bench_split(build, py, reps, tmp):
    """The split's cost: per read, reads per wait, and end to end."""
    giltrace = os.path.join(build, "giltrace")
    out = subprocess.run([os.path.join(build, "tests", "sched_read")], check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout.split()
    res = {"read_self_ns": float(out[1]), "read_other_ns": float(out[3]), "rows": []}
    trace = os.path.join(tmp, "split.pftrace")
    for title, args in (("countdown", [os.path.join(WORK, "countdown.py")]),
                        ("convoy", [os.path.join(WORK, "convoy.py"), "100", "25000000"])):
        cmd = [giltrace, "run", "-q", "--no-report", "-o", trace, "--", py] + args
        times, _ = interleaved([("split", cmd, {}), ("off", cmd, {"GILTRACE_CPU_SPLIT": "0"})],
                               reps)
        doc = json.loads(subprocess.run([giltrace, "report", "--json", trace], check=True,
                                        stdout=subprocess.PIPE).stdout)
        waits = sum(t["wait_count"] for t in doc["threads"])
        reads = None
        if shutil.which("strace"):
            log = os.path.join(tmp, "strace.log")
            subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat", "-o", log] + cmd,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            with open(log) as f:
                reads = sum("schedstat" in line for line in f)
            doc2 = json.loads(subprocess.run([giltrace, "report", "--json", trace], check=True,
                                             stdout=subprocess.PIPE).stdout)
            reads /= max(1, sum(t["wait_count"] for t in doc2["threads"]))
        diff = statistics.median(a - b for a, b in zip(times["split"], times["off"]))
        res["rows"].append({"workload": title, "waits": waits, "reads_per_wait": reads,
                            "ratio": statistics.median(a / b for a, b in
                                                       zip(times["split"], times["off"])),
                            "us_per_wait": diff * 1e6 / waits if waits else 0})
    return res


def bench_reader(build, py, tmp):
    """giltrace report on a ~10 M-event trace (the pipe loop, 2.5 M pairs):
    events per second and peak memory, best of three."""
    giltrace = os.path.join(build, "giltrace")
    trace = os.path.join(tmp, "big.pftrace")
    p = subprocess.run([giltrace, "run", "-q", "-o", trace, "--", py,
                        os.path.join(WORK, "pipeloop.py"), "2500000"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    m = re.search(r'"events": (\d+)', subprocess.run(
        [giltrace, "report", "--json", trace], stdout=subprocess.PIPE, check=True,
        universal_newlines=True).stdout)
    events = int(m.group(1)) if m else 0
    best, rss_kb = None, 0
    for _ in range(3):
        t = time.perf_counter()
        child = subprocess.Popen([giltrace, "report", trace], stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        dt = time.perf_counter() - t
        child.returncode = status
        if status:
            sys.exit("bench: giltrace report failed on %s" % trace)
        best = dt if best is None else min(best, dt)
        rss_kb = max(rss_kb, usage.ru_maxrss)
    return {"events": events, "seconds": best, "bytes": os.path.getsize(trace),
            "rss_mb": rss_kb / 1024.0, "dropped": dropped_in(p.stderr.decode())}


def bench_writer(build):
    out = subprocess.run([os.path.join(build, "tests", "encode_bench")], check=True,
                         stdout=subprocess.PIPE).stdout.decode()
    rows = re.findall(r"level (\d+):\s+([\d.]+) ns/event,\s+([\d.]+) bytes/event", out)
    return [(int(l), float(ns), float(b)) for l, ns, b in rows]


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown CPU"


def clocksource():
    try:
        with open("/sys/devices/system/clocksource/clocksource0/current_clocksource") as f:
            return f.read().strip()
    except OSError:
        return "unknown"


def recorder_clock(build, py):
    """The clock giltrace's recorder chose on this machine (tsc or boottime)."""
    giltrace = os.path.join(build, "giltrace")
    with tempfile.TemporaryDirectory() as tmp:
        trace = os.path.join(tmp, "clock.pftrace")
        subprocess.run([giltrace, "run", "-q", "--no-report", "-o", trace, "--", py, "-c", "pass"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out = subprocess.run([giltrace, "report", "--json", trace], stdout=subprocess.PIPE,
                             universal_newlines=True, check=True).stdout
    return json.loads(out).get("clock", "?")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--python", default=None, help="default: a CPython 3.12, else python3")
    ap.add_argument("--reps", type=int, default=11)
    a = ap.parse_args()
    a.python = a.python or default_python()
    build = os.path.abspath(a.build)
    version = subprocess.run([a.python, "-c", "import platform; print(platform.python_version())"],
                             stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    print("giltrace benchmark: CPython %s (%s), %d interleaved runs each, medians"
          % (version, a.python, a.reps))
    print("machine: %s, %d CPUs, clocksource %s; giltrace's clock: %s\n"
          % (cpu_model(), os.cpu_count(), clocksource(), recorder_clock(build, a.python)))
    with tempfile.TemporaryDirectory() as tmp:
        rows = bench_workloads(build, a.python, a.reps, tmp)
        hot = bench_hot_path(build, a.reps, tmp)
        reader = bench_reader(build, a.python, tmp)
        split = bench_split(build, a.python, a.reps, tmp)
    writer = bench_writer(build)

    print("| workload | without | giltrace run | ratio | then its summary | plain LD_PRELOAD "
          "ratio | GIL events | added ns/event | bytes/event | dropped |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        # With a few thousand events the difference of two noisy wall times
        # says nothing per event.
        per_event = "%.1f" % r["ns_per_event"] if r["events"] >= 100000 else "n/a"
        print("| %s | %.1f ms | %.1f ms | %.3f | %+.0f ms | %.3f | %d | %s | %.2f | %d |"
              % (r["workload"], r["base_ms"], r["run_ms"], r["ratio"], r["report_ms"],
                 r["preload_ratio"], r["events"], per_event, r["bytes_per_event"],
                 r["dropped"]))
    pipe = rows[-1]
    print("\npipe loop controls: an idle extra thread alone %.3f, giltrace pass-through "
          "(GILTRACE_DISABLE=1) %.3f" % (pipe["idle_ratio"], pipe["passthrough_ratio"]))
    print("\nhot path (fakegil, %.1f ns per uncontended release+acquire without giltrace):"
          % hot["base_ns_per_cycle"])
    print("  giltrace run: recording adds %.1f ns per GIL event (runs: %s)"
          % (hot["run_ns_per_event"], hot["spread"]))
    print("  plain LD_PRELOAD: %.1f ns per event, of which an idle second thread alone costs "
          "%.1f; pass-through %.1f ns" % (hot["preload_ns_per_event"], hot["idle_ns_per_event"],
                                          hot["passthrough_ns_per_event"]))
    print("\nreader (giltrace report on the pipe loop's trace, 2.5 M pairs): %d events "
          "(%.1f MB, %d dropped while recording) in %.2f s: %.1f M events/s, peak RSS "
          "%.1f MB"
          % (reader["events"], reader["bytes"] / 1e6, reader["dropped"], reader["seconds"],
             reader["events"] / reader["seconds"] / 1e6, reader["rss_mb"]))
    print("\nCPU waits: one run-delay read %.0f ns (the thread's own), %.0f ns (another "
          "running thread's)" % (split["read_self_ns"], split["read_other_ns"]))
    for r in split["rows"]:
        rpw = "%.1f reads per wait (strace), " % r["reads_per_wait"] if r["reads_per_wait"] else ""
        print("  %s: %d waits, %sgiltrace run with the split / without %.3f (%+.1f us per "
              "wait, end to end: noise-bound)" % (r["workload"], r["waits"], rpw, r["ratio"],
                                                 r["us_per_wait"]))
    print("\nwriter (encode_bench, uncontended release/acquire stream):")
    for level, ns, b in writer:
        print("  compression %s: %.1f ns per event, %.2f bytes per event"
              % ("off" if level == 0 else "level %d" % level, ns, b))


if __name__ == "__main__":
    main()
