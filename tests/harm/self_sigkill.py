# harm: the process ends by SIGKILL (its default action) while threads run
# killed: 1
# traces: run=1 plain=1
import os
import signal
import threading

from _work import contend, spin

threading.Thread(target=spin, args=(10**9,), daemon=True).start()
contend()
print("ready", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
spin(10**9)
