# harm: the process ends by SIGTERM (its default action) while threads run
# killed: 1 (under giltrace run it dies at once, as untraced; giltrace says so)
# traces: run=1 plain=1
import os
import signal
import threading

from _work import contend, spin

threading.Thread(target=spin, args=(10**9,), daemon=True).start()
contend()
print("ready", flush=True)
os.kill(os.getpid(), signal.SIGTERM)
spin(10**9)
