"""Name the calling OS thread, for tracers that read /proc/*/task/*/comm.

giltrace reads the Python names of the main interpreter's threads itself
(threading.Thread.name), a few times a second. Two workloads need OS names
instead: subinterp.py (a subinterpreter's threads are in that interpreter's
own threading module, which giltrace does not read) and many_threads.py
(threads that live for a millisecond end before their Python name can be
read; what is checked there is the OS name each leaves at its exit).
The name is cut to 15 bytes (the kernel's limit); any failure is ignored,
since naming is only a convenience.
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
