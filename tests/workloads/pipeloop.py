"""pipeloop.py [N] -- the highest GIL event rate a single thread can make.

One thread (the main thread) does N (default 200000) os.write(w, b'x') +
os.read(r, 1) pairs on an os.pipe(). Each call releases the GIL around its
syscall and takes it back after, uncontended: 2*N release/acquire pairs
(400000 by default) in ~0.25 s, one every ~0.6 us -- the tracer's worst
case for overhead and buffer pressure. Default run: about 0.3 s on CPython
3.11 and 0.2-0.3 s on 3.12 (2-core VM; 0.26 s / 0.25 s for the loop alone).
Prints nothing.
"""
import os
import sys


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    r, w = os.pipe()
    write, read = os.write, os.read     # local names: keep the loop lean
    for _ in range(n):
        write(w, b"x")
        read(r, 1)
    os.close(r)
    os.close(w)


if __name__ == "__main__":
    main()
