"""forky.py -- fork() while CPU threads run.

Threads cpu-0 and cpu-1 count down from 3000000 each; while they run, the
main thread calls os.fork(). The child (which has only the forking thread)
runs threads child-0 and child-1 counting down from 1000000 each, joins them
and leaves with os._exit(7). The parent waits for it, checks the exit status
is 7, joins its own threads and prints "ok". Exercises a tracer's fork
handling: a GIL that is re-created in the child while the parent's GIL is
busy. CPython 3.12+ warns (DeprecationWarning) about forking with several
threads; that warning is silenced to keep stderr clean. About 0.4 s.
"""
import os
import sys
import traceback
import warnings

from countdown import cpu_thread


def child():
    threads = [cpu_thread("child-%d" % i, 1000000) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    warnings.simplefilter("ignore", DeprecationWarning)
    threads = [cpu_thread("cpu-%d" % i, 3000000) for i in range(2)]
    for t in threads:
        t.start()               # start() returns once the thread is running
    pid = os.fork()
    if pid == 0:
        status = 7
        try:
            child()
        except BaseException:
            traceback.print_exc()
            status = 1
        finally:
            os._exit(status)    # never fall back into the parent's code
    _, status = os.waitpid(pid, 0)
    for t in threads:
        t.join()
    if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 7):
        sys.exit("forky.py: child wait status %#x, expected exit 7" % status)
    print("ok")


if __name__ == "__main__":
    main()
