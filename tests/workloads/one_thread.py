"""one_thread.py [N] -- the baseline: one thread, no contention.

Only the main thread, counting down from N (default 10000000) in pure
Python. Nobody else wants the GIL, so a trace should show no GIL wait and
no forced switch. About 0.4 s on CPython 3.11 (2-core VM). Prints nothing.

CPython 3.6 creates its GIL only when something asks for threads; ctypes
does (PyEval_InitThreads, for callbacks), so that 3.6 has a GIL to trace.
"""
import ctypes  # noqa: F401 -- see above
import sys

from countdown import countdown


def main():
    countdown(int(sys.argv[1]) if len(sys.argv) > 1 else 10000000)


if __name__ == "__main__":
    main()
