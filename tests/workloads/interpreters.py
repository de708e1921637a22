"""interpreters.py [threads|pool] [N] -- several GILs through 3.14's public API (PEP 734).

"threads" (default): two concurrent.interpreters.create() interpreters, each
with its own GIL, run a pure-Python countdown from N (default 3000000) from
helper threads sub-0 and sub-1 while the main thread counts down from N in
the main interpreter: three GILs, of interpreters 0, 1 and 2, each with
traffic (time.sleep(0) after each chunk releases and re-takes it).

"pool": a concurrent.futures.InterpreterPoolExecutor with two workers maps
the countdown over six tasks of N/3 while the main thread waits: the main
GIL and one GIL per worker interpreter.

Before 3.14 there is no concurrent.interpreters: prints
"interpreters.py: needs Python 3.14+" to stderr and exits with status 3.
Otherwise prints nothing.
"""
import sys
import threading

# The subinterpreters' countdown, the same as subinterp.py's.
from subinterp import SCRIPT


def spin(n):
    """The countdown, for the main interpreter and the pool's workers (a
    function of __main__, which the pool's interpreters import by name)."""
    while n > 0:
        k = min(n, 10000)
        n -= k
        while k > 0:
            k -= 1
    return n


def threads(n):
    from concurrent import interpreters
    subs = [interpreters.create() for _ in range(2)]
    workers = [threading.Thread(target=sub.exec, args=(SCRIPT % n,), name="sub-%d" % i)
               for i, sub in enumerate(subs)]
    for w in workers:
        w.start()
    spin(n)
    for w in workers:
        w.join()
    for sub in subs:
        sub.close()


def pool(n):
    from concurrent.futures import InterpreterPoolExecutor
    with InterpreterPoolExecutor(max_workers=2) as ex:
        results = list(ex.map(spin, [n // 3] * 6))
    if results != [0] * 6:
        sys.exit("interpreters.py: the pool returned %r" % results)


def main():
    if sys.version_info < (3, 14):
        print("interpreters.py: needs Python 3.14+", file=sys.stderr)
        sys.exit(3)
    mode = sys.argv[1] if len(sys.argv) > 1 else "threads"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3000000
    {"threads": threads, "pool": pool}[mode](n)


if __name__ == "__main__":
    main()
