"""convoy.py [ROUNDTRIPS] [CPU_N] [-v] [--switch-interval S] [--cpu-threads N]
-- the convoy effect.

Thread io-echo does ROUNDTRIPS (default 100) round-trips of a 64-byte message
over a socket.socketpair() with an echo peer that answers after 1 ms, while
thread cpu-0 counts down in pure Python: until io-echo is done, or from CPU_N
if given.

Each recv() blocks with the GIL released and cpu-0 takes it. When the echo
arrives, io-echo must wait for the GIL, and since cpu-0 never releases it
voluntarily, that wait lasts a full switch interval (5 ms) until a forced
switch: a round-trip costs ~6 ms instead of ~1.2 ms (see io_alone.py).

The echo peer is a separate single-threaded process (python -c, reading and
writing the other end of the socketpair), so it needs none of our GIL; it is
only traced with giltrace's --children. Rejected designs: an echo *thread*
hands the GIL back and forth with io-echo, and as the GIL keeps changing
hands cpu-0's timed wait never forces a switch, so cpu-0 starves and the I/O
runs at full speed; an instant echo (`cat`) often answers before cpu-0 has
woken up to take the released GIL, so io-echo usually gets it straight back.

By default cpu-0 stops when io-echo is done, so the convoy covers the whole
run after start-up whatever the relative speed of the two threads on a busy
machine: the share of time contended, the waiter count and the convoy delay
compare from run to run (the CI-gate tests rely on it). With CPU_N the work
is fixed instead (the benchmark: the same work traced and untraced; 25000000
is ~1 s, outlasting the I/O). Default run: about 0.7 s (2-core VM).
Prints nothing; with -v prints the round-trip rate (not deterministic).
io_alone.py imports this module to run the same I/O without cpu-0.
--switch-interval S calls sys.setswitchinterval(S) first (the CI-gate tests
make the convoy worse with 0.05: every delayed re-acquisition waits 50 ms);
--cpu-threads N (default 1) runs cpu-0 ... cpu-N-1, each counting down CPU_N.
"""
import socket
import subprocess
import sys
import threading
import time

from countdown import cpu_thread, cpu_thread_until

MSG = b"m" * 64

# The echo peer (see above), answering after 1 ms like a nearby service.
ECHO_PEER = """
import os, time
while True:
    data = os.read(0, 4096)
    if not data:
        break
    time.sleep(0.001)
    os.write(1, data)
"""


def io_echo(mine, peer, rounds, result):
    try:
        start = time.perf_counter()
        for _ in range(rounds):
            mine.sendall(MSG)
            got = 0
            while got < len(MSG):   # a stream may return the echo in pieces
                chunk = mine.recv(len(MSG) - got)
                if not chunk:
                    raise RuntimeError("the echo peer closed the socket early")
                got += len(chunk)
        result["rounds"] = rounds
        result["seconds"] = time.perf_counter() - start
    finally:
        IO_DONE.set()           # the CPU threads that run as long as we do stop
        mine.close()            # EOF: the peer exits
        result["peer"] = peer.wait()


def io_thread(rounds, result):
    """Starts the echo peer; returns the (unstarted) io-echo thread that
    will do `rounds` round-trips with it, recording into result."""
    mine, theirs = socket.socketpair()
    peer = subprocess.Popen([sys.executable, "-I", "-S", "-c", ECHO_PEER],
                            stdin=theirs, stdout=theirs)
    theirs.close()
    return threading.Thread(target=io_echo, args=(mine, peer, rounds, result),
                            name="io-echo")


def parse_args(defaults):
    """Positional integers (missing ones from defaults) and the -v flag;
    --switch-interval S is applied here."""
    argv = sys.argv[1:]
    if "--switch-interval" in argv:
        i = argv.index("--switch-interval")
        sys.setswitchinterval(float(argv[i + 1]))
        del argv[i:i + 2]
    global CPU_THREADS
    if "--cpu-threads" in argv:
        i = argv.index("--cpu-threads")
        CPU_THREADS = int(argv[i + 1])
        del argv[i:i + 2]
    args = [a for a in argv if a != "-v"]
    values = [int(a) for a in args] + list(defaults[len(args):])
    return values, "-v" in argv


CPU_THREADS = 1
IO_DONE = threading.Event()


def run(threads, rounds, result, verbose):
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if result.get("rounds") != rounds or result.get("peer") != 0:
        sys.exit("%s: failed: %r" % (sys.argv[0], result))
    if verbose:
        secs = result["seconds"]
        print("%d round-trips in %.3f s: %.0f round-trips/s"
              % (rounds, secs, rounds / secs if secs else float("inf")))


def main():
    (rounds, cpu_n), verbose = parse_args((100, 0))
    result = {}
    # cpu-0 starts first so io-echo finds the GIL busy from its first trip.
    if cpu_n:
        cpus = [cpu_thread("cpu-%d" % i, cpu_n) for i in range(CPU_THREADS)]
    else:
        cpus = [cpu_thread_until("cpu-%d" % i, IO_DONE.is_set) for i in range(CPU_THREADS)]
    run(cpus + [io_thread(rounds, result)], rounds, result, verbose)


if __name__ == "__main__":
    main()
