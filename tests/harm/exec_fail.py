# harm: exec() of a missing program fails (once, then along a PATH search,
# one failed execve per directory); the program carries on with two busy
# threads for a second: that second must be traced
# traces: run=1 plain=1
# wall: 900
import os
import time

from _work import contend

contend()
try:
    os.execv("/nonexistent/program", ["program"])
except OSError as e:
    print("exec failed:", e.errno)
try:
    os.execvpe("no-such-program", ["no-such-program"], {"PATH": "/nonexistent:/usr:/tmp:/"})
except OSError as e:
    print("exec along PATH failed:", e.errno)
deadline = time.monotonic() + 1.0
while time.monotonic() < deadline:
    contend(2, 50000)
print("carried on")
