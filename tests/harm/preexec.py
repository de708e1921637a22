# harm: subprocess with preexec_fn whose child is not Python: the forked
# child runs Python only for a moment before exec, and must leave no trace
# and no message in the output it hands back
# traces: run=1 plain=1
import os
import subprocess

from _work import contend

contend()
for i in range(5):
    p = subprocess.run(["sh", "-c", "echo out; echo err >&2"], preexec_fn=os.setsid,
                       capture_output=True)
    print(i, p.returncode, p.stdout, p.stderr)
