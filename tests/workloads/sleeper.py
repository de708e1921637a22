"""sleeper.py -- a busy program that runs until it is killed.

Daemon threads cpu-0 and cpu-1 count down in pure Python forever while the
main thread sleeps in time.sleep(). Once both threads run and have set their
OS names, prints "ready" (flushed). Used to stop a traced program with a
signal: SIGTERM keeps its default action, so the process dies by the signal
(status -15 / 143) and the tracer has to complete the trace on its own;
SIGINT raises KeyboardInterrupt in the main thread, the usual traceback is
printed and CPython exits (3.8+: dies by SIGINT). Never exits by itself.
"""
import threading
import time

from countdown import countdown


def spin(running):
    running.release()
    while True:
        countdown(100000)


def main():
    running = threading.Semaphore(0)
    for i in range(2):
        threading.Thread(target=spin, args=(running,), name="cpu-%d" % i,
                         daemon=True).start()
    for _ in range(2):
        running.acquire()
    print("ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
