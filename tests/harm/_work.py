"""_work.py — what the harm programs share: GIL-contending threads.

Each program in this directory does one thing real programs do; they write
only deterministic output (no pids, no times), so that a run under giltrace
can be compared byte for byte with a run without it.
"""
import os
import threading
import time

# Threads the process has before the program starts any (a writer thread of
# giltrace's under plain LD_PRELOAD: it is stopped around fork()).
BASE_THREADS = len(os.listdir("/proc/self/task"))


def spin(n=200000):
    while n:
        n -= 1


def contend(nthreads=2, n=200000):
    """Runs nthreads CPU-bound threads to completion (GIL handoffs)."""
    ts = [threading.Thread(target=spin, args=(n,)) for _ in range(nthreads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()


def settle(timeout=10):
    """Waits until the threads joined so far are gone from the kernel too:
    CPython 3.12+ warns at fork() if the process has other OS threads, and a
    joined thread's may linger a moment."""
    deadline = time.monotonic() + timeout
    while len(os.listdir("/proc/self/task")) > BASE_THREADS and time.monotonic() < deadline:
        time.sleep(0.005)
