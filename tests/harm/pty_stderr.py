# harm: the program makes its fd 2 the master side of a pseudo-terminal it
# drives (fd 2 is then "a tty", but not a terminal anyone reads): nothing
# may arrive on the other side but what the program writes
# traces: run=2 plain=2
import os
import select
import time

from _work import contend

master, slave = os.openpty()
saved = os.dup(2)
os.dup2(master, 2)
pid = os.fork()
if pid == 0:
    os.close(master)
    got = b""
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        r, _, _ = select.select([slave], [], [], 0.1)
        if r:
            got += os.read(slave, 1000)
    with open("slave.txt", "wb") as f:
        f.write(got)
    os._exit(0)
contend()
os.write(2, b"from the program\n")
# The parent exits with the pty master as its stderr; the child reads on.
