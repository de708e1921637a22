"""countdown.py [N] [THREADS] -- classic GIL contention.

THREADS (default 2) pure-Python CPU-bound threads, cpu-0, cpu-1, ..., each
count down from N (default 8000000). None of them ever blocks, so every GIL
hand-off is a forced switch: a waiter times out after the switch interval
(5 ms), requests a drop, and the holder yields at its next eval-breaker check.
Default run: about 0.75 s wall on CPython 3.11 on a 2-core VM. Prints nothing.
"""
import sys
import threading

from _osname import set_os_thread_name


def countdown(n):
    while n > 0:
        n -= 1


def _named_countdown(n):
    set_os_thread_name(threading.current_thread().name)
    countdown(n)


def cpu_thread(name, n):
    """An unstarted thread `name` (also its OS name) counting down from n."""
    return threading.Thread(target=_named_countdown, args=(n,), name=name)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 8000000
    nthreads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    threads = [cpu_thread("cpu-%d" % i, n) for i in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
