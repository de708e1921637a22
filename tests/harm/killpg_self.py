# harm: the program signals its own process group (as supervisors and
# shells do): each process of the group must get the signal once
# setsid: yes
# traces: run=1 plain=1
import os
import signal
import time

from _work import contend

got = []
signal.signal(signal.SIGTERM, lambda s, f: got.append(s))
contend()
os.killpg(0, signal.SIGTERM)
time.sleep(0.5)
print("SIGTERM received", len(got), "time(s)")
