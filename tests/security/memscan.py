#!/usr/bin/env python3
"""memscan.py PID LABEL=HEX...: search a live process's writable private memory for byte strings.

Reads /proc/PID/maps and, through /proc/PID/mem, every private writable mapping that is not
backed by a file ([heap], [stack], thread stacks and other anonymous memory: where freed or
stale secrets would sit). Prints one line per label: LABEL COUNT [REGION@OFFSET ...], and the
number of bytes scanned last. Needs ptrace access to PID (root). The process is stopped with
SIGSTOP while it is read, so the scan sees one consistent picture.
"""
import os
import signal
import sys


def regions(pid):
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            addr, perms = parts[0], parts[1]
            path = parts[5].strip() if len(parts) > 5 else ""
            if not perms.startswith("rw") or perms[3] != "p":
                continue
            if path and not path.startswith("["):
                continue  # file-backed data (.data/.bss of libraries): not where the heap lives
            if path in ("[vvar]", "[vsyscall]", "[vdso]"):
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            yield lo, hi, path or "[anon]"


def main():
    pid = int(sys.argv[1])
    wanted = {}
    for arg in sys.argv[2:]:
        label, _, hexval = arg.partition("=")
        wanted[label] = bytes.fromhex(hexval)
    hits = {label: [] for label in wanted}
    context = {}
    scanned = 0
    os.kill(pid, signal.SIGSTOP)
    try:
        with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
            for lo, hi, name in regions(pid):
                try:
                    mem.seek(lo)
                    data = mem.read(hi - lo)
                except OSError:
                    continue  # guard pages and the like
                scanned += len(data)
                for label, needle in wanted.items():
                    at = data.find(needle)
                    while at >= 0:
                        hits[label].append(f"{name}({(hi - lo) >> 10}K)@{lo + at:#x}")
                        # What surrounds the first hit tells which buffer held it.
                        context.setdefault(label, data[max(0, at - 96):at + len(needle) + 32])
                        at = data.find(needle, at + 1)
    finally:
        os.kill(pid, signal.SIGCONT)
    for label, where in hits.items():
        print(label, len(where), " ".join(where[:8]))
    print("scanned", scanned)
    for label, around in context.items():
        if not label.startswith("control-"):
            print(f"context of {label}: {around!r}", file=sys.stderr)


if __name__ == "__main__":
    main()
