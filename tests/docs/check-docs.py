#!/usr/bin/env python3
"""Fails when gst-inspect-1.0 shows something the element's doc page does not.

For every element given on the command line, docs/plugins/<element>.md must
mention, in backquotes, each pad template and pad property, each property (except GstObject's
own `name` and `parent`) and each signal and action signal that
gst-inspect-1.0 lists, and every property needs a non-empty blurb.
One test case per element; prints Check's summary line format.
"""
import os
import re
import subprocess
import sys

INHERITED = {"name", "parent"}


def inspect(element):
    return subprocess.run(["gst-inspect-1.0", element], check=True,
                          capture_output=True, text=True).stdout


def section(text, title):
    """Lines of one top-level gst-inspect section (until the next one)."""
    lines, inside = [], False
    for line in text.splitlines():
        if not line.startswith(" ") and line.strip():
            inside = line.strip().rstrip(":") == title
            continue
        if inside:
            lines.append(line)
    return lines


def documented_items(out):
    pads = re.findall(r"^\s+(?:SRC|SINK) template: '([^']+)'", out, re.M)
    pad_props = re.findall(r"^      (\S+)\s+: ", "\n".join(section(out, "Pad Templates")), re.M)
    props, blurbs = [], {}
    for line in section(out, "Element Properties"):
        m = re.match(r"^  (\S[^:]*?)\s*: (.*)$", line)
        if m and not line.startswith("   "):
            props.append(m.group(1))
            blurbs[m.group(1)] = m.group(2).strip()
    signals = []
    for title in ("Element Signals", "Element Actions"):
        signals += re.findall(r'^\s+"([^"]+)"\s*:', "\n".join(section(out, title)), re.M)
    return pads + pad_props, [p for p in props if p not in INHERITED], blurbs, signals


def check(element, docs_dir):
    problems = []
    page_path = os.path.join(docs_dir, element + ".md")
    try:
        with open(page_path) as f:
            page = f.read()
    except OSError as e:
        return ["cannot read %s: %s" % (page_path, e)]
    out = inspect(element)
    pads, props, blurbs, signals = documented_items(out)
    if not pads:
        problems.append("gst-inspect-1.0 shows no pad templates (parse error?)")
    for kind, names in (("pad", pads), ("property", props), ("signal", signals)):
        for n in names:
            if "`%s`" % n not in page:
                problems.append("%s `%s` is not documented in %s" % (kind, n, page_path))
    for p in props:
        if not blurbs.get(p):
            problems.append("property %s has no blurb" % p)
    return problems


def main():
    docs_dir, elements = sys.argv[1], sys.argv[2:]
    failures = 0
    for element in elements:
        problems = check(element, docs_dir)
        for p in problems:
            print("%s: %s" % (element, p))
        failures += bool(problems)
        print("%s: %s" % (element, "FAIL" if problems else "ok"))
    print("%d%%: Checks: %d, Failures: %d, Errors: 0" %
          (100 * (len(elements) - failures) // max(len(elements), 1),
           len(elements), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
