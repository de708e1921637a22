# harm: a daemon thread is still running (holding and wanting the GIL) when
# the program exits
# traces: run=1 plain=1
import threading
import time

from _work import spin


def forever():
    while True:
        spin(10000)


threading.Thread(target=forever, daemon=True).start()
time.sleep(0.3)
spin(100000)
print("main done")
