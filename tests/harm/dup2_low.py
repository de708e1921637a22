# harm: dup2() of the program's own file onto the low descriptors, stdout
# among them, while threads run, then back
# traces: run=1 plain=1
import os
import sys

from _work import contend

fd = os.open("dup.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
saved = os.dup(1)
for target in range(3, 24):
    if target != fd and target != saved:
        os.dup2(fd, target)
os.dup2(fd, 1)
for round_ in range(4):
    contend()
    os.write(1, b"to the log via fd 1, round %d\n" % round_)
    for target in range(3, 24):
        if target not in (fd, saved):
            os.write(target, b"fd %d\n" % target)
os.dup2(saved, 1)
print("stdout restored")
