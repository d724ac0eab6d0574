#!/usr/bin/env python3
"""Sums test-case counts from a meson testlog.json.

Check-based tests print "Checks: N, Failures: F, Errors: E"; every test of
this project prints that line. A test that died before printing it (crash,
timeout, sanitizer abort outside a test case) counts as one failed case; a
skipped test (exit 77) counts as neither and is named.
Prints "N passed, N failed" and, with --out FILE, writes "N F" to FILE.
"""
import json
import re
import sys

COUNTS = re.compile(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)")


def main():
    log, out = sys.argv[1], None
    if len(sys.argv) > 3 and sys.argv[2] == "--out":
        out = sys.argv[3]
    passed = failed = 0
    with open(log) as f:
        for line in f:
            t = json.loads(line)
            m = COUNTS.findall(t.get("stdout", "") or "")
            if t.get("result") == "SKIP":
                print("skipped: %s" % t.get("name"))
            elif m:
                checks, fails, errors = (int(x) for x in m[-1])
                bad = fails + errors
                passed += checks - bad
                failed += bad
                if t.get("result") not in ("OK", "EXPECTEDFAIL") and bad == 0:
                    failed += 1          # e.g. leak report at exit
            else:
                failed += 1
                print("no case counts from %s (%s)" % (t.get("name"), t.get("result")))
    if out:
        with open(out, "w") as f:
            f.write("%d %d\n" % (passed, failed))
    print("%d passed, %d failed" % (passed, failed))


if __name__ == "__main__":
    main()
