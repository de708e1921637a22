# harm: the process itself closes every descriptor above 2 with close_range(2)
# while threads run, then opens files and keeps writing them until it exits
# traces: run=1 plain=1
import ctypes
import os
import threading

from _work import contend, spin

libc = ctypes.CDLL(None, use_errno=True)
t = threading.Thread(target=spin, args=(2000000,))
t.start()
if libc.close_range(3, 0xFFFFFFFF, 0) != 0:
    os.closerange(3, 65536)  # a kernel without close_range
logs = [open("app%d.log" % i, "w") for i in range(8)]
for round_ in range(4):
    contend()
    for f in logs:
        f.write("round %d\n" % round_)
        f.flush()
t.join()
print("done")
