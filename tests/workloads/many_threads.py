"""many_threads.py [N] -- many short-lived threads.

Starts N (default 500) threads short-0 ... short-<N-1>, 50 at a time; each
does a little CPU work (a countdown from 5000) and exits; every batch is
joined before the next starts. Exercises a tracer's per-thread setup and
teardown (thread exits, reused thread ids, OS names). Prints the number of
threads that finished, i.e. N. About 0.2 s.
"""
import sys
import threading

from _osname import set_os_thread_name
from countdown import countdown

BATCH = 50


def work(done):
    set_os_thread_name(threading.current_thread().name)
    countdown(5000)
    done.append(1)              # list.append is atomic under the GIL


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    done = []
    for first in range(0, n, BATCH):
        batch = [threading.Thread(target=work, args=(done,),
                                  name="short-%d" % i)
                 for i in range(first, min(n, first + BATCH))]
        for t in batch:
            t.start()
        for t in batch:
            t.join()
    print(len(done))


if __name__ == "__main__":
    main()
