# harm: under an address-space limit (ulimit -v), a program that needs
# most of it must still get it: giltrace's reserved rings must fit beside
# ulimit-v: 3000000
# traces: run=1 plain=1
from _work import contend

contend()
b = bytearray(1500 * 2**20)
print("allocated", len(b) >> 20, "MiB")
