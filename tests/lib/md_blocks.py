#!/usr/bin/env python3
"""md_blocks.py FILE TAG: print the fenced code blocks of a Markdown FILE whose info string
carries TAG (```sh site-a-frr), without the indentation of their fence (blocks inside list
items are indented). Exits 1 when no block has the tag, so a renamed tag fails the test that
runs the guide instead of running nothing."""
import re
import sys


def blocks(text, tag):
    out, inside, indent, want = [], False, "", False
    for line in text.splitlines():
        m = re.match(r"^(\s*)(```+|~~~+)(.*)$", line)
        if not inside and m:
            inside, indent, want = True, m.group(1), tag in m.group(3).split()
            fence = m.group(2)
            continue
        if inside and m and m.group(2).startswith(fence[0] * 3) and not m.group(3).strip():
            inside = False
            if want:
                out.append("")
            continue
        if inside and want:
            out.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: md_blocks.py FILE TAG")
    with open(sys.argv[1], encoding="utf-8") as f:
        lines = blocks(f.read(), sys.argv[2])
    if not lines:
        sys.exit(f"md_blocks.py: no block tagged {sys.argv[2]} in {sys.argv[1]}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
