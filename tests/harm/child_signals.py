# harm: forked children that run threads are ended by SIGTERM, SIGINT and
# SIGKILL from their parent; the parent carries on
# killed: 3 (under giltrace run no handler of ours stands in: each dies at once, and giltrace ends its part)
# traces: run=4 plain=4
import os
import signal
import threading
import time

from _work import contend, spin, settle

contend()
for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGKILL):
    r, w = os.pipe()
    settle()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        threading.Thread(target=spin, args=(10**9,), daemon=True).start()
        contend()
        os.write(w, b"x")
        spin(10**9)
        os._exit(0)
    os.close(w)
    os.read(r, 1)
    time.sleep(0.2)
    os.kill(pid, sig)
    _, status = os.waitpid(pid, 0)
    os.close(r)
    print(sig.name, "ended the child:", os.WIFSIGNALED(status) and os.WTERMSIG(status) == sig)
contend()
