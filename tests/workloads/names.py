"""names.py — threads known by their Python names (tests/integration/test_names.py).

Every thread runs Python for SECONDS (default 1) so that the writer, which
looks names up a few times a second, sees each of them:

  MainThread                  the main thread
  alpha                       named when created
  renamed-before-start        created as "wrong", renamed before start()
  renamed ü 名                 renames itself once running (not ASCII, not
                              Latin-1: a 2-byte str inside CPython)
  long-xxx...                 a name longer than a trace keeps
  pool_0, pool_1              a ThreadPoolExecutor's workers
  (a _thread thread)          started below threading: no Python name, so
                              it keeps its OS name, printed on stdout
"""
import _thread
import concurrent.futures
import sys
import threading
import time

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def busy(seconds=SECONDS):
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        for i in range(2000):
            x += i
    return x


def rename_self():
    threading.current_thread().name = "renamed \u00fc \u540d"
    busy()


def os_name():
    with open("/proc/thread-self/comm") as f:
        return f.read().strip()


done = threading.Event()


def below_threading():
    print("unnamed:", os_name(), flush=True)
    busy()
    done.set()


print("main:", os_name(), flush=True)
threads = [threading.Thread(target=busy, name="alpha")]
t = threading.Thread(target=busy, name="wrong")
t.name = "renamed-before-start"
threads.append(t)
threads.append(threading.Thread(target=rename_self))
threads.append(threading.Thread(target=busy, name="long-" + "x" * 80))
for t in threads:
    t.start()
_thread.start_new_thread(below_threading, ())
with concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="pool") as ex:
    list(ex.map(busy, [SECONDS, SECONDS]))
busy(0.2)
for t in threads:
    t.join()
done.wait()
