# harm: a forked child closes the write end of a pipe and lives on: the
# parent must see EOF at once (nothing of giltrace may hold a copy)
# traces: run=2 plain=2
import os
import time

from _work import contend, settle

contend()
r, w = os.pipe()
settle()
pid = os.fork()
if pid == 0:
    os.close(r)
    contend()
    os.write(w, b"data")
    os.close(w)
    time.sleep(1.5)
    os._exit(0)
os.close(w)
start = time.monotonic()
data = b""
while True:
    chunk = os.read(r, 100)
    if not chunk:
        break
    data += chunk
print(data, "EOF before the child exited:", time.monotonic() - start < 1.2)
os.waitpid(pid, 0)
