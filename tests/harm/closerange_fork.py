# harm: a forked child closes every inherited descriptor, then opens log files
# and writes them while its threads run (daemons, close_fds children do this)
# traces: run=2 plain=2
import os
import sys

from _work import contend, settle

contend()
settle()
pid = os.fork()
if pid == 0:
    os.closerange(3, 4096)
    logs = [open("child%d.log" % i, "w") for i in range(8)]
    for i, f in enumerate(logs):
        f.write("hello %d\n" % i)
        f.flush()
    for round_ in range(5):
        contend()
        for f in logs:
            f.write("round %d\n" % round_)
            f.flush()
    os._exit(0)
_, status = os.waitpid(pid, 0)
print("child status", status)
