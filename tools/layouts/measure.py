#!/usr/bin/env python3
"""measure.py — measures the CPython layout rows of model/gt_cpython.c.

For every interpreter the suite finds (tests/find_pythons.py) and the
Debian sid root's python3.14 and python3.15 (tools/sid-root.sh), two
independent sources:

  headers   measure_layout.c compiled against that interpreter's own
            internal headers (Py_BUILD_CORE): offsetof() of every field
            giltrace uses, sizeof(_PyRuntimeState)
  binary    the ELF file that defines _PyRuntime: its st_size (the
            3.7-3.12 rows' fingerprint) and, for 3.13+, the
            _Py_DebugOffsets the interpreter carries in its initialised
            data (read from the file, no process needed)

and prints one markdown table of each; docs/cpython-layouts.md keeps the
output. A row of gt_cpython.c must agree with both.

Usage: tools/layouts/measure.py [--sid-root DIR]
(as root when the sid root is measured: tests/sid/python3.N runs it in a
private mount namespace)
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def sh(args, **kw):
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, **kw)


def interpreters(sid_root):
    """(tag, python to ask, filesystem prefix of what it reports)."""
    out = sh([sys.executable, os.path.join(ROOT, "tests", "find_pythons.py")]).stdout
    for line in out.splitlines():
        tag, path = line.split(None, 1)
        if not tag.startswith("sid-"):  # measured below, with their root's files
            yield tag, [path], ""
    for v in ("3.14", "3.15"):
        if sid_root and os.path.exists(os.path.join(sid_root, "usr/bin/python" + v)):
            yield ("sid-python" + v, [os.path.join(ROOT, "tests", "sid", "python" + v)],
                   sid_root)


def ask(cmd, code):
    r = sh(cmd + ["-c", code])
    if r.returncode:
        raise RuntimeError(r.stderr.strip())
    return r.stdout.strip()


def runtime_object(cmd, prefix):
    """The ELF file that defines _PyRuntime: libpython if shared, else the
    executable."""
    info = ask(cmd, "import sys, sysconfig as s; print(s.get_config_var('Py_ENABLE_SHARED'),"
               " s.get_config_var('LIBDIR'), s.get_config_var('LDLIBRARY'),"
               " sys.executable)").split()
    if info[0] == "1":
        return prefix + os.path.join(info[1], info[2])
    return prefix + os.path.realpath(info[3]) if not prefix else prefix + info[3]


def dynsym(path, name):
    """(value, size) of a dynamic symbol."""
    out = sh(["readelf", "-W", "--dyn-syms", path]).stdout
    for line in out.splitlines():
        p = line.split()
        if len(p) >= 8 and p[7] == name:
            return int(p[1], 16), int(p[2], 0)
    return None


def file_bytes(path, addr, n):
    """n bytes at virtual address addr, from the file's PT_LOAD segments."""
    out = sh(["readelf", "-W", "-l", path]).stdout
    for line in out.splitlines():
        p = line.split()
        if p and p[0] == "LOAD":
            off, va, filesz = int(p[1], 16), int(p[2], 16), int(p[4], 16)
            if va <= addr and addr + n <= va + filesz:
                with open(path, "rb") as f:
                    f.seek(off + addr - va)
                    return f.read(n)
    return None


def headers(cmd, prefix, tmp):
    inc = prefix + ask(cmd, "import sysconfig; print(sysconfig.get_paths()['include'])")
    # Debian's pyconfig.h includes <x86_64-linux-gnu/python3.N/pyconfig.h>:
    # the root's include dir goes after the host's, whose libc headers win.
    args = ["-I" + inc, "-I" + os.path.join(inc, "internal")]
    if prefix:
        args.append("-idirafter" + prefix + "/usr/include")
    exe = os.path.join(tmp, "measure")
    r = sh(["cc", "-std=gnu11", "-w"] + args + ["-o", exe, os.path.join(HERE, "measure_layout.c")])
    if r.returncode:
        raise RuntimeError("cannot compile against %s: %s" % (inc, r.stderr.splitlines()[:3]))
    got = {}
    for line in sh([exe]).stdout.splitlines():
        k, v = line.split()
        got[k] = v
    return got


# The fields of _Py_DebugOffsets giltrace reads, in the order of
# measure_layout.c's debug.* lines.
DEBUG_FIELDS = ("runtime_size", "interpreters_head", "interp_size", "interp_id",
                "interp_ceval_gil", "interp_gil", "interp_gil_locked", "interp_modules",
                "interp_next")


def live_debug_offsets(obj, rt, h):
    """The values the interpreter's own _Py_DebugOffsets hold."""
    raw = file_bytes(obj, rt, 512)
    if raw is None or raw[:8] != b"xdebugpy":
        return None
    val = lambda field: struct.unpack_from("<Q", raw, int(h["debug." + field]))[0]
    d = {f: val(f) for f in DEBUG_FIELDS}
    d["version"] = hex(val("version"))
    return d


def main():
    sid_root = None
    if len(sys.argv) == 3 and sys.argv[1] == "--sid-root":
        sid_root = os.environ["GILTRACE_SID_ROOT"] = os.path.abspath(sys.argv[2])
    elif len(sys.argv) != 1:
        sys.exit("usage: measure.py [--sid-root DIR]")
    else:
        sid_root = os.environ.get("GILTRACE_SID_ROOT", "/var/cache/giltrace/sid-root")

    rows, debug, objs = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        found = []
        for tag, cmd, prefix in interpreters(sid_root):
            try:
                v = ask(cmd, "import sys; print('%d.%d' % sys.version_info[:2])")
            except RuntimeError as e:
                rows.append("| %s | does not run: %s |" % (tag, e))
                continue
            found.append((tuple(int(x) for x in v.split(".")), tag, cmd, prefix))
        for v, tag, cmd, prefix in sorted(found):
            try:
                h = headers(cmd, prefix, tmp)
            except RuntimeError as e:
                objs.append("| %s | %s |" % (tag, e))
                continue
            objs.append("| %s | %s | %s |" % (tag, h["version"], " ".join(
                "%s=%s" % (k[4:], h[k]) for k in sorted(h) if k.startswith("obj.")) +
                " interp.modules=" + h.get("interp.modules", "-")))
            if v < (3, 7):
                rows.append("| %s | %d.%d: the GIL is file-scope statics of ceval_gil.h, "
                            "no struct to lay out |" % ((tag,) + v))
                continue
            try:
                obj = runtime_object(cmd, prefix)
            except RuntimeError as e:
                rows.append("| %s | %s |" % (tag, e))
                continue
            sym = dynsym(obj, "_PyRuntime")
            gil = "/".join(h.get("gil." + f, "-") for f in
                           ("interval", "locked", "cond", "mutex", "switch_cond",
                            "switch_mutex", "size"))
            rows.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                tag, h["version"], gil, h["runtime.size"], sym[1] if sym else "not exported",
                h.get("runtime.gil", "-"), h.get("runtime.main_interp", "-"),
                h.get("interp.gil", "-"), h.get("interp.id", "-"),
                h.get("interp.ceval_gil", "-"), h.get("interp.modules", "-"),
                h.get("runtime.interpreters_head", "-"), h.get("interp.next", "-")))
            if "debug.version" in h:
                live = live_debug_offsets(obj, sym[0], h) if sym else None
                where = "/".join(h["debug." + f] for f in ("version", "free_threaded") + DEBUG_FIELDS)
                if live is None:
                    debug.append("| %s | %s | unreadable |" % (tag, where))
                    continue
                main_after = int(h["runtime.interpreters_main"]) - \
                    int(h["runtime.interpreters_head"])
                debug.append("| %s | %s | %s | %s | %d |" % (
                    tag, where, live["version"],
                    "/".join(str(live[f]) for f in DEBUG_FIELDS), main_after))
    print("### Headers and binaries, 3.7+\n")
    print("| interpreter | version | gil interval/locked/cond/mutex/switch_cond/switch_mutex/size "
          "| sizeof(_PyRuntimeState) (headers) | _PyRuntime st_size (binary) | runtime.ceval.gil "
          "| runtime._main_interpreter | interp._gil | interp.id | interp.ceval.gil "
          "| interp.modules (3.12+: .imports.modules) | runtime.interpreters.head "
          "| interp.next |")
    print("|" + "---|" * 13)
    print("\n".join(rows))
    print("\n### _Py_DebugOffsets, 3.13+\n")
    print("| interpreter | where in _Py_DebugOffsets: version/free_threaded/" + "/".join(DEBUG_FIELDS) +
          " (headers) | version (binary) | " + "/".join(DEBUG_FIELDS) +
          " (binary) | interpreters.main - .head |")
    print("|---|---|---|---|---|")
    print("\n".join(debug))
    print("\n### Objects a thread's Python name is read through, 3.6+\n")
    print("| interpreter | version | offsets and sizes (bytes), str state bits |")
    print("|---|---|---|")
    print("\n".join(objs))


main()
