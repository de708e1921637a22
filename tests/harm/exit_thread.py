# harm: os._exit() from a thread while the main thread is busy
# traces: run=1 plain=1
import os
import threading

from _work import spin


def quit_soon():
    spin(300000)
    print("exiting from a thread", flush=True)
    os._exit(7)


threading.Thread(target=quit_soon).start()
while True:
    spin()
