#!/usr/bin/env python3
"""Runs every gst-launch-1.0 example line the project documents.

Collects the examples from the element doc comments (|[ ... ]| blocks), the
element pages and the README, in that order (the framemux examples write the
tunnel.bin that the framedemux examples read), and runs each in one scratch
directory with a time limit. One test case per example; prints Check's
summary line format.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

TIMEOUT = 60


def commands(text):
    """gst-launch-1.0 commands in @text, with continuation lines joined."""
    text = re.sub(r"\\\n\s*(\*\s*)?", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip().lstrip("*").strip()
        if line.startswith("gst-launch-1.0 "):
            out.append(line)
    return out


def main():
    src = sys.argv[1]
    files = ["gst/wrtcframe/gstframemux.c", "docs/plugins/framemux.md",
             "gst/wrtcframe/gstframedemux.c", "docs/plugins/framedemux.md",
             "README.md"]
    examples = []
    for f in files:
        with open(os.path.join(src, f)) as fh:
            text = fh.read()
        if f.endswith(".c"):
            text = "\n".join(re.findall(r"\|\[(.*?)\]\|", text, re.S))
        examples += [(f, c) for c in commands(text)]

    failures = 0
    with tempfile.TemporaryDirectory() as scratch:
        for f, cmd in examples:
            argv = shlex.split(cmd)
            argv.insert(1, "-q")
            try:
                r = subprocess.run(argv, cwd=scratch, capture_output=True,
                                   text=True, timeout=TIMEOUT)
                ok, why = r.returncode == 0, "exit %d: %s" % (
                    r.returncode, (r.stderr or r.stdout).strip()[-400:])
            except subprocess.TimeoutExpired:
                ok, why = False, "no end within %d s (hang?)" % TIMEOUT
            print("%s: %s\n  %s" % ("ok" if ok else "FAIL", f, cmd))
            if not ok:
                print("  " + why)
                failures += 1
    n = len(examples)
    print("%d%%: Checks: %d, Failures: %d, Errors: 0" %
          (100 * (n - failures) // max(n, 1), n, failures))
    return 1 if failures or n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
