"""jsonhash.py [--seconds S] [--switch-interval S] [--cpu-threads N]
-- GIL contention through real libraries, as a service sees it.

A ThreadPoolExecutor of four workers runs for S seconds (default 1): two
serialise a nested document with json.dumps over and over (the encoder is C
code that holds the GIL), two hash 1 MiB blocks with hashlib.sha256 (which
releases the GIL for data that large, so they mostly run beside the
others and come back for the GIL after each block). Prints nothing.

Time-bound rather than fixed work, like countdown.py --seconds, so that the
share of the run that is contended does not depend on how fast the machine
happens to be (the CI-gate benchmark compares runs on an idle and a busy
machine). The planted regressions of that benchmark:
--switch-interval S calls sys.setswitchinterval(S) first;
--cpu-threads N adds N pure-Python counting threads (countdown.py's).
"""
import concurrent.futures
import hashlib
import json
import sys
import time

from countdown import cpu_thread_until

DOC = {"items": [{"id": i, "name": "item-%d" % i, "tags": ["a", "b", "c"],
                  "price": i * 1.25, "stock": {"here": i % 7, "there": i % 11}}
                 for i in range(200)]}
BLOCK = b"x" * (1 << 20)


def dump_until(deadline):
    n = 0
    while time.monotonic() < deadline:
        json.dumps(DOC)
        n += 1
    return n


def hash_until(deadline):
    n = 0
    while time.monotonic() < deadline:
        hashlib.sha256(BLOCK).digest()
        n += 1
    return n


def main():
    seconds, extra = 1.0, 0
    args = sys.argv[1:]
    while args:
        opt = args.pop(0)
        if opt == "--seconds":
            seconds = float(args.pop(0))
        elif opt == "--switch-interval":
            sys.setswitchinterval(float(args.pop(0)))
        elif opt == "--cpu-threads":
            extra = int(args.pop(0))
        else:
            sys.exit("usage: " + __doc__.splitlines()[0])
    deadline = time.monotonic() + seconds
    cpu = [cpu_thread_until("cpu-%d" % i, lambda: time.monotonic() >= deadline)
           for i in range(extra)]
    for t in cpu:
        t.start()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        jobs = [pool.submit(dump_until, deadline) for _ in range(2)]
        jobs += [pool.submit(hash_until, deadline) for _ in range(2)]
        for j in jobs:
            j.result()
    for t in cpu:
        t.join()


if __name__ == "__main__":
    main()
