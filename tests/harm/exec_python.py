# harm: a successful exec() of another Python program
# traces: run=2 plain=2
import os
import sys

from _work import contend

contend()
sys.stdout.write("before exec\n")
sys.stdout.flush()
os.execv(sys.executable, [sys.executable, "-c",
                          "import threading; t = threading.Thread(target=sum, args=(range(10**6),)); "
                          "t.start(); t.join(); print('the new program')"])
