#!/usr/bin/env python3
"""test_install.py PYTHON — what `make install` puts down works by itself.

Installs the build into a temporary prefix (cmake --install, as `make
install` does) and checks that:

  files       bin/giltrace, lib/giltrace/libgiltrace.so, the docs in
              share/doc/giltrace and the man pages giltrace, giltrace-run,
              giltrace-report and giltrace-check are there
  man pages   each renders (man -l) and names the installed docs
  --help      the installed command names the installed docs
  links       a run of the installed command on a contended workload prints
              verdicts whose "see FILE#ANCHOR" links all resolve: FILE
              exists and has a heading ANCHOR
"""
import os
import re
import subprocess
import sys

from tplib import WORKLOADS, check, env, kept_on_failure, main, run

PY = sys.argv[1]
PAGES = ["giltrace", "giltrace-run", "giltrace-report", "giltrace-check"]
DOCS = ["README.md", "metrics.md", "ci.md", "configuration.md", "trace-format.md"]


def slugs(path):
    """GitHub's anchors for the headings of a markdown file."""
    out = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"#+\s+(.*)", line)
            if m:
                s = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
                out.add(s.replace(" ", "-"))
    return out


def test():
    build = os.path.dirname(env("GILTRACE"))
    with kept_on_failure("install") as tmp:
        prefix = os.path.join(tmp, "prefix")
        s, out, err = run(["cmake", "--install", build, "--prefix", prefix])
        check(s == 0, "cmake --install failed: %s%s" % (out, err))
        docs = os.path.join(prefix, "share", "doc", "giltrace")
        gt = os.path.join(prefix, "bin", "giltrace")
        for f in [gt, os.path.join(prefix, "lib", "giltrace", "libgiltrace.so")] + \
                [os.path.join(docs, d) for d in DOCS]:
            check(os.path.isfile(f), "not installed: %s" % f)
        for page in PAGES:
            path = os.path.join(prefix, "share", "man", "man1", page + ".1")
            check(os.path.isfile(path), "man page not installed: %s" % path)
            s, text, err = run(["man", "-l", path], env_extra={"MANPAGER": "cat", "MANWIDTH": "200"})
            check(s == 0 and "giltrace" in text, "man -l %s: %d %s" % (path, s, err))
            if page == "giltrace":
                check(docs in text, "man giltrace does not name %s:\n%s" % (docs, text))

        s, out, err = run([gt, "--help"], env_extra={"GILTRACE_DOCS": ""})
        check(s == 0 and docs + "/" in out, "installed --help does not name %s:\n%s" % (docs, out))

        # Four CPU-bound threads on a busy GIL: contention, and a verdict.
        trace = os.path.join(tmp, "t.pftrace")
        s, out, err = run([gt, "run", "-o", trace, "--", PY,
                           os.path.join(WORKLOADS, "countdown.py"), "0", "4", "--seconds", "1"],
                          env_extra={"GILTRACE_LIB": "", "GILTRACE_DOCS": ""})
        check(s == 0, "the installed giltrace run failed: %s" % err)
        links = re.findall(r"see (\S+?)#([\w-]+)", err)
        check(links, "no verdict links in the summary:\n%s" % err)
        for path, anchor in links:
            check(path.startswith(docs), "a link outside the installed docs: %s" % path)
            check(os.path.isfile(path) and anchor in slugs(path),
                  "link %s#%s does not resolve" % (path, anchor))


main(test)
