#!/usr/bin/env python3
"""find_pythons.py — the CPython interpreters on this machine the suite runs on.

Prints one line per interpreter, "TAG PATH", TAG naming where it comes from:
pyenv-3.12.1 (a pyenv version), distro-python3.11 (the system's own, in
/usr/bin or /bin), path-3.13.0 (elsewhere on PATH). CMake names the tests
after the tags (tests/CMakeLists.txt).

Where it looks, in this order (the pyenv root and the sid root have
defaults, each overridden by its variable; nothing else is a fixed path):
  GILTRACE_PYTHONS   if set: exactly these (paths separated by ':')
  pyenv              every version of the pyenv root: $PYENV_ROOT, else what
                     `pyenv root` says, else ~/.pyenv if it exists
  sid root           python3.14 and python3.15 of Debian sid, from the root
                     tools/sid-root.sh makes ($GILTRACE_SID_ROOT, else
                     /var/cache/giltrace/sid-root), run through tests/sid/python3.N (as
                     root: a private mount namespace and chroot); tag
                     sid-python3.14
  PATH               python3.N for every N in every directory of PATH
                     (pyenv's shims are skipped: the versions behind them are
                     found above)
An interpreter found twice (a symlink, PATH and pyenv) is listed once.
CPython 3.6+ only; an interpreter that does not run is left out.
"""
import glob
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SID_WRAPPER = os.path.realpath(os.path.join(HERE, "sid", "sid_python.sh"))

def version(py):
    try:
        out = subprocess.run([py, "-c", "import sys, platform; print(sys.implementation.name,"
                              " platform.python_version())"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=30, check=True,
                             universal_newlines=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) != 2 or out[0] != "cpython":
        return None
    parts = out[1].split(".")
    return out[1] if (int(parts[0]), int(parts[1])) >= (3, 6) else None


def pyenv_root():
    root = os.environ.get("PYENV_ROOT")
    if root:
        return root
    if shutil.which("pyenv"):
        try:
            return subprocess.run(["pyenv", "root"], stdout=subprocess.PIPE, timeout=30,
                                  universal_newlines=True, check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    home = os.path.expanduser("~/.pyenv")
    return home if os.path.isdir(home) else None


def sid_root():
    """The Debian sid root of tools/sid-root.sh, if it is complete and this
    user can enter it (tests/sid/sid_python.sh needs root)."""
    root = os.environ.get("GILTRACE_SID_ROOT") or "/var/cache/giltrace/sid-root"
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return None
    return root if os.path.isfile(os.path.join(root, ".giltrace-complete")) else None


def candidates():
    """(path, tag or None) in the order of the module's doc."""
    forced = os.environ.get("GILTRACE_PYTHONS")
    if forced:
        for p in forced.split(":"):
            if p:
                yield p, None
        return
    root = pyenv_root()
    if root:
        for d in sorted(glob.glob(os.path.join(root, "versions", "*"))):
            for py in sorted(glob.glob(os.path.join(d, "bin", "python3.[0-9]")) +
                             glob.glob(os.path.join(d, "bin", "python3.[0-9][0-9]"))):
                yield py, "pyenv-" + os.path.basename(d)
    sid = sid_root()
    if sid:
        for minor in (14, 15):
            if os.access(os.path.join(sid, "usr", "bin", "python3.%d" % minor), os.X_OK):
                yield os.path.join(HERE, "sid", "python3.%d" % minor), "sid-python3.%d" % minor
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or "/shims" in d:
            continue
        # Every python3.N, not only the versions known today: a newer one
        # (3.16 one day) is listed, and pythons_present.py fails until it
        # has a layout row.
        pys = [p for p in glob.glob(os.path.join(glob.escape(d), "python3.*"))
               if os.path.basename(p)[len("python3."):].isdigit()]
        for py in sorted(pys, key=lambda p: int(os.path.basename(p)[len("python3."):])):
            if os.path.isfile(py):
                yield py, None


def main():
    seen = set()
    for path, tag in candidates():
        # The sid wrappers are one script under two names, also when
        # given in GILTRACE_PYTHONS.
        real = os.path.realpath(path)
        if real == SID_WRAPPER:
            tag, real = "sid-" + os.path.basename(path), os.path.abspath(path)
        if real in seen or not os.access(real, os.X_OK):
            continue
        v = version(path)
        if not v:
            continue
        seen.add(real)
        if not tag:
            d = os.path.dirname(os.path.abspath(path))
            name = os.path.basename(path)
            tag = "distro-" + name if d in ("/usr/bin", "/bin") else "path-" + v
        print(tag, os.path.abspath(path))


if __name__ == "__main__":
    sys.exit(main())
