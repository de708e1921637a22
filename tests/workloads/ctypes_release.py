"""ctypes_release.py [N] [THREADS] -- threads that run outside the GIL.

THREADS (default 4) threads worker-0, worker-1, ... each call libc's
usleep(1000) N times (default 450) through ctypes. A ctypes.CDLL call
releases the GIL for the duration of the C call, so the workers sleep in
parallel: the run takes ~N ms (about 0.5 s), not THREADS x N ms, and a trace
should show many short GIL holds, parallel progress and little GIL wait
(only the microseconds when two workers return from usleep at once).
usleep rather than a CPU-burning C call so that the overlap does not depend
on the number of cores. Prints nothing.
"""
import ctypes
import sys
import threading


try:
    _libc = ctypes.CDLL(None)       # the interpreter itself, libc included
    _usleep = _libc.usleep
except (OSError, AttributeError):
    _usleep = ctypes.CDLL("libc.so.6").usleep
_usleep.argtypes = [ctypes.c_uint]
_usleep.restype = ctypes.c_int


def worker(n):
    for _ in range(n):
        _usleep(1000)               # GIL released inside


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 450
    nthreads = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    threads = [threading.Thread(target=worker, args=(n,), name="worker-%d" % i)
               for i in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
