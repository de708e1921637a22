# harm: the program changes directory, then forks a child that runs threads
# and writes a file there (giltrace's traces must not follow it)
# traces: run=2 plain=2
import os

from _work import contend, settle

contend()
os.mkdir("work")
os.chdir("work")
settle()
pid = os.fork()
if pid == 0:
    contend()
    with open("result.txt", "w") as f:
        f.write("child done\n")
    os._exit(0)
os.waitpid(pid, 0)
contend()
print(sorted(os.listdir(".")))
