#!/usr/bin/env python3
"""stream_diff.py SENT RECEIVED: explain how a byte stream that went through a tunnel differs
from what was sent, for a failing data-integrity check. Prints the lengths, each differing range
(merged when closer than 64 bytes), and for each range whether the received bytes occur
elsewhere in the sent stream (misplaced data) or not at all (corrupted bytes), so a failure in
CI says what kind of bug to look for without the files."""
import sys

MERGE_GAP = 64
MAX_RANGES = 8


def ranges(a, b):
    n = min(len(a), len(b))
    out, start, last = [], None, None
    i = 0
    while i < n:
        # Compare 4 KiB blocks first: most of a 1 MiB stream is equal.
        j = min(n, i + 4096)
        if a[i:j] == b[i:j]:
            i = j
            continue
        for k in range(i, j):
            if a[k] != b[k]:
                if start is not None and k - last <= MERGE_GAP:
                    last = k
                else:
                    if start is not None:
                        out.append((start, last + 1))
                    start = last = k
        i = j
    if start is not None:
        out.append((start, last + 1))
    return out


def main():
    sent = open(sys.argv[1], "rb").read()
    got = open(sys.argv[2], "rb").read()
    print(f"stream_diff: sent {len(sent)} bytes, received {len(got)}")
    rs = ranges(sent, got)
    if not rs and len(sent) != len(got):
        print("stream_diff: the shorter stream is a prefix of the longer one")
    for s, e in rs[:MAX_RANGES]:
        piece = got[s:e]
        where = sent.find(piece) if len(piece) >= 16 else -1
        origin = f"found in the sent stream at offset {where} ({where - s:+d})" if where >= 0 else \
            "not found in the sent stream"
        print(f"stream_diff: bytes [{s}, {e}) ({e - s} bytes) differ; received bytes {origin}; "
              f"received head {piece[:16].hex()}, sent head {sent[s:s + 16].hex()}")
    if len(rs) > MAX_RANGES:
        print(f"stream_diff: ... {len(rs) - MAX_RANGES} more ranges")


if __name__ == "__main__":
    main()
