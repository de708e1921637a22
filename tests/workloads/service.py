"""service.py [--seconds S] [--child] -- a small service that runs for a while.

What a long run under `giltrace run --keep / --max-size` sees (S seconds,
default 20):
  - "acceptor": pipe round trips, each releasing and taking the GIL back,
    about 20000 a second (the bulk of the trace's bytes);
  - a ThreadPoolExecutor of 3 "handler" threads doing CPU bursts that
    contend for the GIL, each named by the pool (handler_0..2);
  - "ticker", renamed "ticker-N" each second;
  - a short-lived Python child at the start (gone long before the end);
  - a Python child (--child) alive from start to end, with two CPU threads.
Prints nothing; exits 0.
"""
import concurrent.futures
import os
import subprocess
import sys
import threading
import time


def seconds():
    return float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 20.0


def spin(n):
    while n > 0:
        n -= 1


def acceptor(until):
    r, w = os.pipe()
    while time.monotonic() < until:
        t0 = time.monotonic()
        for _ in range(200):
            os.write(w, b"x")
            os.read(r, 1)
        # ~20000 round trips a second whatever the machine's speed.
        time.sleep(max(0.0, 0.02 - (time.monotonic() - t0)))


def ticker(until):
    n = 0
    while time.monotonic() < until:
        threading.current_thread().name = "ticker-%d" % n
        n += 1
        spin(20000)
        time.sleep(1.0)


def child_cpu(until):
    while time.monotonic() < until:
        spin(200000)
        time.sleep(0.05)


def child(until):
    threads = [threading.Thread(target=child_cpu, args=(until,), name="child-cpu-%d" % i)
               for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    s = seconds()
    until = time.monotonic() + s
    if "--child" in sys.argv:
        child(until)
        return
    brief = subprocess.Popen([sys.executable, "-c", "import threading; "
                              "t = threading.Thread(target=sum, args=(range(10**6),)); "
                              "t.start(); t.join()"])
    long = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child",
                             "--seconds", str(s)])
    threads = [threading.Thread(target=acceptor, args=(until,), name="acceptor"),
               threading.Thread(target=ticker, args=(until,), name="ticker")]
    for t in threads:
        t.start()
    with concurrent.futures.ThreadPoolExecutor(3, thread_name_prefix="handler") as pool:
        while time.monotonic() < until:
            list(pool.map(spin, [100000] * 6))
            time.sleep(0.01)
    for t in threads:
        t.join()
    brief.wait()
    long.wait()


if __name__ == "__main__":
    main()
