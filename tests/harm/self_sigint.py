# harm: the process ends by SIGINT (its default action) while threads run
# killed: 1 (under giltrace run it dies at once, as untraced; giltrace says so)
# traces: run=1 plain=1
import os
import signal
import threading

from _work import contend, spin

# A shell's background job starts with SIGINT ignored; Python then keeps
# it so. This program wants the usual KeyboardInterrupt.
signal.signal(signal.SIGINT, signal.default_int_handler)
threading.Thread(target=spin, args=(10**9,), daemon=True).start()
contend()
print("ready", flush=True)
os.kill(os.getpid(), signal.SIGINT)
spin(10**9)
