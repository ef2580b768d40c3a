#!/usr/bin/env python3
"""udpseq.py: numbered UDP datagrams through a tunnel, for the reliability tests.
  udpseq.py send ADDR PORT COUNT RATE [FIRST]   send COUNT datagrams numbered FIRST.. at RATE/s
  udpseq.py recv ADDR PORT STATEFILE            count them; STATEFILE gets a JSON summary
The summary (rewritten at most every 0.1 s) holds total datagrams, distinct numbers, duplicates
and the received numbers as [first, last] ranges, so a test can tell lost, duplicated and
reordered-but-delivered datagrams apart. Both ends are bounded: send stops after COUNT and
recv after 120 s."""
import json
import os
import select
import socket
import struct
import sys
import time

SO_RCVBUFFORCE = 33  # <asm-generic/socket.h>; not exported by the socket module


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def send(addr, port, count, rate, first):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    start, pad = time.monotonic(), b"x" * 32  # non-empty payload: never mistaken for a keepalive
    for i in range(count):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        s.sendto(struct.pack("!Q", first + i) + pad, (addr, port))


def recv(addr, port, statefile):
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    s.bind((addr, port))
    s.setblocking(False)
    seen, total, dups, dirty, last_write = set(), 0, 0, True, 0.0
    end = time.monotonic() + 120
    while time.monotonic() < end:
        r, _, _ = select.select([s], [], [], 0.1)
        while r:
            try:
                data = s.recv(2048)
            except BlockingIOError:
                break
            if len(data) < 8:
                continue
            n = struct.unpack_from("!Q", data)[0]
            total += 1
            if n in seen:
                dups += 1
            seen.add(n)
            dirty = True
        now = time.monotonic()
        if dirty and now - last_write >= 0.1:
            ranges = []
            for n in sorted(seen):
                if ranges and ranges[-1][1] == n - 1:
                    ranges[-1][1] = n
                else:
                    ranges.append([n, n])
            tmp = statefile + ".tmp"
            with open(tmp, "w") as f:
                json.dump({"total": total, "distinct": len(seen), "dups": dups, "ranges": ranges}, f)
            os.replace(tmp, statefile)
            dirty, last_write = False, now


def main(argv):
    if len(argv) >= 6 and argv[1] == "send":
        send(argv[2], int(argv[3]), int(argv[4]), float(argv[5]), int(argv[6]) if len(argv) > 6 else 0)
    elif len(argv) == 5 and argv[1] == "recv":
        recv(argv[2], int(argv[3]), argv[4])
    else:
        sys.stderr.write(__doc__ + "\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
