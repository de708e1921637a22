"""pool.py METHOD [WORKERS] -- a multiprocessing pool, as users write one.

multiprocessing.get_context(METHOD).Pool(WORKERS) (default 4) maps a CPU-bound
function over 2 * WORKERS items; the parent's own threads (the pool's
handlers) and a thread of the parent's counting alongside contend for its
GIL. Prints the sum of the results. METHOD is fork, spawn or forkserver.
"""
import multiprocessing
import sys
import threading


def work(n):
    x = 0
    for i in range(300000 + n):
        x += i % 7
    return x


def main():
    method = sys.argv[1]
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    side = threading.Thread(target=work, args=(3000000,), name="parent-side")
    side.start()
    with multiprocessing.get_context(method).Pool(workers) as pool:
        total = sum(pool.map(work, range(2 * workers), chunksize=1))
    side.join()
    print(total)


if __name__ == "__main__":
    main()
