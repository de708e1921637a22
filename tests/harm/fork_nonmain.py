# harm: a non-main thread forks; in the child that thread then returns,
# which ends the child (its only thread exits): it must not hang
# traces: run=2 plain=2
import os
import threading
import time
import warnings

from _work import contend

# Forking from a thread is the point here: 3.12+ warns about it (with the
# pid, which differs from run to run).
warnings.filterwarnings("ignore", "This process", DeprecationWarning)
result = {}


def forker():
    pid = os.fork()
    if pid == 0:
        contend()
        return  # the child's only thread ends here: the child exits 0
    result["pid"] = pid


contend()
t = threading.Thread(target=forker)
t.start()
t.join()
pid = result["pid"]
deadline = time.monotonic() + 20
while True:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        print("child exited, status", status)
        break
    if time.monotonic() > deadline:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        print("child hung")
        break
    time.sleep(0.01)
