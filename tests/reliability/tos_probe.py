#!/usr/bin/env python3
"""tos_probe.py: inner traffic with a chosen DS field, and what arrives with which.

  tos_probe.py send ADDR PORT COUNT TOS     COUNT UDP datagrams to ADDR:PORT with IP_TOS (IPv4)
                                            or IPV6_TCLASS (IPv6) = TOS, 2 ms apart
  tos_probe.py recv ADDR PORT COUNT SECONDS binds ADDR:PORT, takes up to COUNT datagrams or
                                            stops after SECONDS of silence, and prints a JSON
                                            object: DS field as received -> count
Run inside the test's namespaces only.
"""
import json
import socket
import sys
import time

IPV6_RECVTCLASS, IPV6_TCLASS = 66, 67  # <linux/in6.h>


def sock(addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return fam, socket.socket(fam, socket.SOCK_DGRAM)


def main():
    mode, addr, port, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    fam, s = sock(addr)
    if mode == "send":
        tos = int(sys.argv[5], 0)
        if fam == socket.AF_INET:
            s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        else:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_TCLASS, tos)
        for i in range(count):
            s.sendto(b"tos-probe %d" % i, (addr, port))
            time.sleep(0.002)
        return
    quiet = float(sys.argv[5])
    if fam == socket.AF_INET:
        s.setsockopt(socket.IPPROTO_IP, socket.IP_RECVTOS, 1)
    else:
        s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVTCLASS, 1)
    s.bind((addr, port))
    s.settimeout(quiet)
    seen = {}
    with open(sys.argv[6] if len(sys.argv) > 6 else "/dev/null", "w") as ready:
        ready.write("ready\n")
    got = 0
    while got < count:
        try:
            _, anc, _, _ = s.recvmsg(2048, socket.CMSG_SPACE(4))
        except socket.timeout:
            break
        ds = None
        for level, typ, data in anc:
            if level == socket.IPPROTO_IP and typ == socket.IP_TOS:
                ds = data[0]
            elif level == socket.IPPROTO_IPV6 and typ == IPV6_TCLASS:
                ds = int.from_bytes(data[:4], sys.byteorder)
        seen[str(ds)] = seen.get(str(ds), 0) + 1
        got += 1
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
