"""io_alone.py [ROUNDTRIPS] [-v] -- convoy.py's I/O without its culprit.

The same io-echo round-trips with the same 1 ms echo peer as convoy.py
(imported from it; same default of 100 trips), but no CPU-bound thread: the
GIL is free whenever io-echo's send()/recv() returns, so a trace should show
(almost) no GIL wait, and each trip takes ~1.2 ms instead of ~6 ms.
Default run: about 0.15 s (2-core VM).
Prints nothing; with -v prints the round-trip rate (not deterministic).
"""
from convoy import io_thread, parse_args, run


def main():
    (rounds,), verbose = parse_args((100,))
    result = {}
    run([io_thread(rounds, result)], rounds, result, verbose)


if __name__ == "__main__":
    main()
