"""countdown.py [N] [THREADS] [--seconds S] [--tiny-interval S] [--switch-interval S]
-- classic GIL contention.

THREADS (default 2) pure-Python CPU-bound threads, cpu-0, cpu-1, ..., each
count down from N (default 8000000). None of them ever blocks, so every GIL
hand-off is a forced switch: a waiter times out after the switch interval
(5 ms), requests a drop, and the holder yields at its next eval-breaker check.
Default run: about 0.75 s wall on CPython 3.11 on a 2-core VM. Prints nothing.

With --seconds S the threads count down in chunks until S seconds after all
of them have started instead (N is then ignored; they wait for each other
at a barrier first): all of them count for the same span, so the share of
the run during which the GIL is contended does not depend on which thread
the scheduler happened to favour, nor on how late a starved machine ran a
new thread (one counting alone meanwhile would be a stretch of no
contention that the next run may not have). Fixed work (the default) is
what the benchmark wants: the same work traced and untraced.

With --seconds T --tiny-interval S the main thread sets the switch
interval to 1 µs for the last S of the T seconds, as a test suite does for
one test: the interval a report finds last in the file is not the one in
force for most of the run. --switch-interval S calls sys.setswitchinterval(S)
first (a regression the CI-gate benchmark plants, tools/bench_gate.py).
"""
import sys
import threading
import time


CHUNK = 20000   # ~1 ms of counting: how often a timed thread looks at the clock


def countdown(n):
    while n > 0:
        n -= 1


def count_until(stop):
    """Counts down in chunks until stop() is true."""
    while not stop():
        countdown(CHUNK)


def _named(work, *args):
    work(*args)


def cpu_thread(name, n):
    """An unstarted thread `name` (also its OS name) counting down from n."""
    return threading.Thread(target=_named, args=(countdown, n), name=name)


def cpu_thread_until(name, stop, start=None):
    """An unstarted thread `name` counting until stop() is true, after
    waiting at the barrier start (if any)."""
    def run():
        if start:
            start.wait()
        count_until(stop)
    return threading.Thread(target=_named, args=(run,), name=name)


def pop_option(argv, flag, convert):
    """Removes `flag VALUE` from argv; returns convert(VALUE) or None."""
    if flag not in argv:
        return None
    i = argv.index(flag)
    value = convert(argv[i + 1])
    del argv[i:i + 2]
    return value


def main():
    argv = sys.argv[1:]
    seconds = pop_option(argv, "--seconds", float)
    tiny = pop_option(argv, "--tiny-interval", float)
    interval = pop_option(argv, "--switch-interval", float)
    if interval:
        sys.setswitchinterval(interval)
    n = int(argv[0]) if len(argv) > 0 else 8000000
    nthreads = int(argv[1]) if len(argv) > 1 else 2
    if seconds is None:
        threads = [cpu_thread("cpu-%d" % i, n) for i in range(nthreads)]
    else:
        # The clock starts when the last thread reaches the barrier.
        deadline = []
        start = threading.Barrier(nthreads,
                                  action=lambda: deadline.append(time.monotonic() + seconds))
        threads = [cpu_thread_until("cpu-%d" % i, lambda: time.monotonic() >= deadline[0],
                                    start) for i in range(nthreads)]
    for t in threads:
        t.start()
    if tiny and seconds:
        while not deadline:
            time.sleep(0.001)
        time.sleep(max(0.0, deadline[0] - tiny - time.monotonic()))
        sys.setswitchinterval(1e-6)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
