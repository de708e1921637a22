"""subinterp.py [N] [own|shared|one-by-one K] -- three GILs at once (PEP 684, 3.12+).

Creates 2 subinterpreters, each with its own GIL (default "own"), and runs a
pure-Python countdown from N (default 10000000) in each, from helper threads
sub-0 and sub-1, while the main thread counts down from N in the main
interpreter: 3 GILs, each with traffic. With 2 free cores the run takes
~1.5x one countdown, not 3x ("own" 0.7 s vs "shared" 1.35 s on 3.12 on a
2-vCPU VM -- when that VM really ran both vCPUs; its parallel capacity
varies, so do not make tests depend on these times). "shared" creates legacy
subinterpreters sharing the main GIL: one GIL, contended by threads of three
interpreters. Runs about 0.7-1.3 s. "one-by-one K" creates K own-GIL
subinterpreters one after another, each running its countdown from a thread
sub-I and destroyed before the next is created (the allocator tends to put
each new interpreter, and so its GIL, where the last one was): K GILs, never
more than two at a time.

No threads are started *inside* the subinterpreters: on 3.12.1, run_string
from a helper thread whose script starts a thread hangs (the helper's OS
thread is gone, its join never returns; 3.13.0 is fine). Here each helper
thread just runs its subinterpreter's pure-CPU script and returns; the
interpreters are created and destroyed by the main thread.

API: 3.12 _xxsubinterpreters.create(isolated=True) (its default; the config
_PyInterpreterConfig_INIT, gil=OWN_GIL), run_string() raising on error;
3.13 _interpreters.create('isolated') (gil='own'; _xxsubinterpreters is
gone), run_string() returning an error description instead of raising.

Before 3.12 there is no per-interpreter GIL: prints
"subinterp.py: needs Python 3.12+" to stderr and exits with status 3, so a
test harness can tell "not applicable" from failure. Otherwise prints nothing.
"""
import sys
import threading

from _osname import set_os_thread_name

# The CPU work, run alike in all three interpreters. A function, as in
# countdown.py: module-level code would use slow globals. The sleep(0) after
# each chunk releases and re-takes the GIL, so each interpreter's own
# (otherwise uncontended) GIL shows traffic, not one acquire at each end.
SCRIPT = """
import time
def spin(n):
    while n > 0:
        k = min(n, 10000)
        n -= k
        while k > 0:
            k -= 1
        time.sleep(0)
spin(%d)
"""


def api(own):
    """(create, run_string, destroy) for this version; create() makes a
    subinterpreter with its own GIL if own, else one sharing the main GIL."""
    try:
        import _interpreters as m           # 3.13+
        config = "isolated" if own else "legacy"

        def create():
            return m.create(config)

        def run_string(interp, script):
            err = m.run_string(interp, script)  # None on success
            if err is not None:
                raise RuntimeError("subinterpreter failed: %r" % (err,))
    except ImportError:
        import _xxsubinterpreters as m      # 3.12

        def create():
            return m.create(isolated=own)
        run_string = m.run_string           # raises RunFailedError
    return create, run_string, m.destroy


def one_by_one(create, run_string, destroy, n, k):
    for i in range(k):
        interp = create()
        errors = []

        def run():
            set_os_thread_name(threading.current_thread().name)
            try:
                run_string(interp, SCRIPT % n)
            except Exception as e:          # reported by the main thread
                errors.append(e)
        t = threading.Thread(target=run, name="sub-%d" % i)
        t.start()
        t.join()
        destroy(interp)
        if errors:
            sys.exit("subinterp.py: %r" % (errors,))


def main():
    if sys.version_info < (3, 12):
        sys.stderr.write("subinterp.py: needs Python 3.12+\n")
        sys.exit(3)
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000000
    mode = sys.argv[2] if len(sys.argv) > 2 else "own"
    if mode not in ("own", "shared", "one-by-one"):
        sys.exit("usage: subinterp.py [N] [own|shared|one-by-one K]")
    create, run_string, destroy = api(mode != "shared")
    if mode == "one-by-one":
        one_by_one(create, run_string, destroy, n, int(sys.argv[3]))
        return

    interps = [create() for _ in range(2)]
    errors = []

    def run(interp):
        set_os_thread_name(threading.current_thread().name)
        try:
            run_string(interp, SCRIPT % n)
        except Exception as e:              # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(interp,), name="sub-%d" % i)
               for i, interp in enumerate(interps)]
    for t in threads:
        t.start()
    exec(SCRIPT % n, {})                    # the main interpreter's share
    for t in threads:
        t.join()
    for interp in interps:
        destroy(interp)
    if errors:
        sys.exit("subinterp.py: %r" % (errors,))


if __name__ == "__main__":
    main()
