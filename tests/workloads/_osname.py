"""Name the calling OS thread, for tracers that read /proc/*/task/*/comm.

CPython (before 3.14) never names its OS threads, so every thread of a
workload would show up as "python3.x". Each workload thread calls
set_os_thread_name(threading.current_thread().name) first thing, so a trace
can be checked for "cpu-0", "io-echo", ... The name is cut to 15 bytes (the
kernel's limit); any failure is ignored, since naming is only a convenience.
"""
import ctypes

PR_SET_NAME = 15

try:
    # dlopen(NULL): the interpreter's own symbol table, which includes libc.
    # Preferred over ctypes.util.find_library, which may spawn ldconfig/gcc
    # and so add stray processes to a trace.
    _prctl = ctypes.CDLL(None).prctl
except (OSError, AttributeError):
    try:
        _prctl = ctypes.CDLL("libc.so.6").prctl
    except (OSError, AttributeError):
        _prctl = None


def set_os_thread_name(name):
    if _prctl is None:
        return
    try:
        raw = name.encode("utf-8", "replace")[:15]
        _prctl(PR_SET_NAME, ctypes.c_char_p(raw), 0, 0, 0)
    except Exception:
        pass
