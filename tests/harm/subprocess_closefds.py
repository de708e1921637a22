# harm: subprocess with close_fds and a preexec_fn, capturing a Python
# child's output, while threads of the parent run
# traces: run=5 plain=5
import os
import subprocess
import sys
import threading

from _work import contend, spin

t = threading.Thread(target=spin, args=(3000000,))
t.start()
code = "import sys; print('out'); sys.stderr.write('err\\n')"
for i in range(4):
    p = subprocess.run([sys.executable, "-c", code], close_fds=True, preexec_fn=os.setsid,
                       capture_output=True)
    print(i, p.returncode, p.stdout, p.stderr)
t.join()
contend()
