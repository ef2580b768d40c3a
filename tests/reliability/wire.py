#!/usr/bin/env python3
"""wire.py: a userspace Ethernet wire between two interfaces of a test namespace, for the
reliability tests. Every frame that arrives on one interface leaves on the other, so the two
WireGuard peers on either side see each other's real addresses (no NAT, no relay endpoint).
On the way it can
  - impair IP frames like `tc netem` (loss, duplication, reordering, delay), seeded, for kernels
    without sch_netem;
  - record WireGuard datagrams (UDP payload type 1-4) and inject the recorded frames again, in
    order, reversed or shuffled, to replay them at a receiver;
  - hold back WireGuard data datagrams and release them after N others, to reorder inside (or
    beyond) the receiver's replay window.
It is driven through a UNIX stream socket, one command line per connection, one JSON reply:
  impair [loss=P] [dup=P] [reorder=P] [delay=SECONDS] [ce=P] [ce_force=P]
                                            (no argument: no impairment); ce marks CE on the
                                            outer header of WireGuard data frames (with a
                                            payload) that are ECN-capable, as an AQM would;
                                            ce_force marks any, Not-ECT ones too
  record on|off|clear
  inject DIR TYPE inorder|reverse|shuffle   re-send recorded frames of one direction and type
  hold DIR COUNT AFTER                      hold the next COUNT data frames (not keepalives),
                                            release them, last first, after AFTER more
  stats
DIR is "ab" (arrived on the first interface) or "ba". Run only inside a test's own namespace.
"""
import argparse
import heapq
import json
import os
import random
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SO_RCVBUFFORCE = 33  # <asm-generic/socket.h>; not exported by the socket module
SO_SNDBUFFORCE = 32
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_CSUMNOTREADY = 1 << 3
MAX_RECORDED = 20000  # bounded memory: the tests record a few hundred frames
MAX_FRAME = 65536
MAX_WIRE_FRAME = 1518  # 1500-byte MTU + Ethernet header (+ a VLAN tag); larger is a GSO frame


def csum16(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def l4_offset(frame):
    """(ip version, l4 protocol, l4 offset) of an Ethernet frame, or None if not IP."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    if ethertype == 0x0800 and len(frame) >= 34:
        ihl = (frame[14] & 0x0F) * 4
        return 4, frame[23], 14 + ihl
    if ethertype == 0x86DD and len(frame) >= 54:
        return 6, frame[20], 54  # the tests' underlay carries no extension headers
    return None


def fix_checksum(frame):
    """Complete a checksum the sender left to offload (CHECKSUM_PARTIAL frames seen on veth)."""
    info = l4_offset(frame)
    if not info:
        return frame
    ver, proto, off = info
    if proto not in (6, 17):
        return frame
    f = bytearray(frame)
    coff = off + (6 if proto == 17 else 16)
    if len(f) < coff + 2:
        return frame
    if ver == 4 and proto == 17:
        f[coff:coff + 2] = b"\0\0"  # "no checksum" is valid for UDP over IPv4
        return bytes(f)
    seg = f[off:]
    seglen = len(seg)
    if ver == 4:
        pseudo = bytes(f[26:34]) + struct.pack("!BBH", 0, proto, seglen)
    else:
        pseudo = bytes(f[22:54]) + struct.pack("!IxxxB", seglen, proto)
    f[coff:coff + 2] = b"\0\0"
    c = (~csum16(pseudo + bytes(f[off:]))) & 0xFFFF
    if proto == 17 and c == 0:
        c = 0xFFFF
    struct.pack_into("!H", f, coff, c)
    return bytes(f)


def outer_ds(frame):
    """The DS field (TOS / traffic class) of the frame's IP header."""
    info = l4_offset(frame)
    if not info:
        return 0
    if info[0] == 4:
        return frame[15]
    return ((frame[14] & 0x0F) << 4) | (frame[15] >> 4)


def mark_ce(frame):
    """The frame with ECN = CE on its IP header (IPv4 header checksum recomputed)."""
    info = l4_offset(frame)
    f = bytearray(frame)
    if info[0] == 4:
        f[15] |= 3
        ihl = (f[14] & 0x0F) * 4
        f[24:26] = b"\0\0"
        struct.pack_into("!H", f, 24, (~csum16(bytes(f[14:14 + ihl]))) & 0xFFFF)
    else:
        f[15] |= 3 << 4
    return bytes(f)


def wg_type(frame):
    """WireGuard message type (1-4) of a UDP datagram in the frame, else 0."""
    info = l4_offset(frame)
    if not info or info[1] != 17:
        return 0
    p = info[2] + 8
    if len(frame) < p + 4:
        return 0
    t = frame[p]
    if t in (1, 2, 3, 4) and frame[p + 1:p + 4] == b"\0\0\0":
        return t
    return 0


class Wire:
    def __init__(self, if_a, if_b, control, seed):
        self.socks = {}
        for name in (if_a, if_b):
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
            s.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, 8 << 20)
            s.bind((name, ETH_P_ALL))
            s.setblocking(False)
            self.socks[name] = s
        # direction "ab": arrived on if_a, leaves on if_b
        self.out = {"ab": self.socks[if_b], "ba": self.socks[if_a]}
        self.dir_of = {self.socks[if_a].fileno(): "ab", self.socks[if_b].fileno(): "ba"}
        self.rng = random.Random(seed)
        self.impair = {"loss": 0.0, "dup": 0.0, "reorder": 0.0, "delay": 0.0, "ce": 0.0, "ce_force": 0.0}
        self.recording = False
        self.recorded = []  # (dir, type, frame)
        self.pending = []  # heap of (due, seq, dir, frame)
        self.seq = 0
        self.reorder_slot = {"ab": None, "ba": None}
        self.holds = {"ab": None, "ba": None}  # {"count", "after", "held": [], "seen"}
        self.stats = {d: {"in": 0, "out": 0, "lost": 0, "dup": 0, "reordered": 0, "held": 0,
                          "released": 0, "injected": 0, "oversize": 0, "data": 0, "dup_data": 0,
                          # data frames with a payload by the outer ECN they arrived with, those
                          # with a DSCP other than 0, and those the wire marked CE
                          "ecn_not_ect": 0, "ecn_ect1": 0, "ecn_ect0": 0, "ecn_ce": 0,
                          "dscp_nonzero": 0, "ce_marked": 0}
                      for d in ("ab", "ba")}
        if os.path.exists(control):
            os.unlink(control)
        self.ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.ctl.bind(control)
        self.ctl.listen(4)

    def send(self, d, frame):
        try:
            self.out[d].send(frame)
            self.stats[d]["out"] += 1
        except OSError:
            pass  # a full queue or a link going down: a lost frame, as on a real wire

    def schedule(self, d, frame):
        delay = self.impair["delay"]
        if delay > 0:
            self.seq += 1
            heapq.heappush(self.pending, (time.monotonic() + delay, self.seq, d, frame))
        else:
            self.send(d, frame)

    def impaired(self, d, frame, t=0):
        st, imp = self.stats[d], self.impair
        if imp["loss"] and self.rng.random() < imp["loss"]:
            st["lost"] += 1
            return
        copies = 1
        if imp["dup"] and self.rng.random() < imp["dup"]:
            st["dup"] += 1
            if t == 4:
                st["dup_data"] += 1
            copies = 2
        for _ in range(copies):
            # reorder: this frame waits for the next one and then goes out after it
            if imp["reorder"] and self.reorder_slot[d] is None and self.rng.random() < imp["reorder"]:
                self.reorder_slot[d] = frame
                st["reordered"] += 1
                continue
            self.schedule(d, frame)
            if self.reorder_slot[d] is not None:
                held, self.reorder_slot[d] = self.reorder_slot[d], None
                self.schedule(d, held)

    def forward(self, d, frame):
        st = self.stats[d]
        st["in"] += 1
        t = wg_type(frame)
        if self.recording and t and len(self.recorded) < MAX_RECORDED:
            self.recorded.append((d, t, frame))
        if t == 4:
            st["data"] += 1
            if len(frame) - (l4_offset(frame)[2] + 8) > 32:  # not a keepalive
                ds = outer_ds(frame)
                st[("ecn_not_ect", "ecn_ect1", "ecn_ect0", "ecn_ce")[ds & 3]] += 1
                if ds >> 2:
                    st["dscp_nonzero"] += 1
                imp = self.impair
                if (imp["ce_force"] and self.rng.random() < imp["ce_force"]) or \
                        (imp["ce"] and ds & 3 in (1, 2) and self.rng.random() < imp["ce"]):
                    frame = mark_ce(frame)
                    st["ce_marked"] += 1
            h = self.holds[d]
            # keepalives (an empty payload: 16-byte header + 16-byte tag) pass; only data is held
            if h is not None and len(frame) - (l4_offset(frame)[2] + 8) > 32:
                if len(h["held"]) < h["count"]:
                    h["held"].append(frame)
                    st["held"] += 1
                    return
                h["seen"] += 1
                self.impaired(d, frame, t)
                if h["seen"] >= h["after"]:
                    for f in reversed(h["held"]):
                        self.send(d, f)
                        st["released"] += 1
                    self.holds[d] = None
                return
        self.impaired(d, frame, t)

    def command(self, line):
        words = line.split()
        if not words:
            return {"error": "empty command"}
        cmd, args = words[0], words[1:]
        if cmd == "stats":
            by = {}
            for (d, t, _) in self.recorded:
                by["%s%d" % (d, t)] = by.get("%s%d" % (d, t), 0) + 1
            return {"stats": self.stats, "recorded": len(self.recorded), "recorded_by": by,
                    "holding": {d: (len(h["held"]) if h else 0) for d, h in self.holds.items()},
                    "impair": self.impair}
        if cmd == "impair":
            new = {"loss": 0.0, "dup": 0.0, "reorder": 0.0, "delay": 0.0, "ce": 0.0, "ce_force": 0.0}
            for a in args:
                k, _, v = a.partition("=")
                if k not in new:
                    return {"error": "unknown impairment " + k}
                new[k] = float(v)
            self.impair = new
            return {"impair": new}
        if cmd == "record" and args and args[0] in ("on", "off", "clear"):
            if args[0] == "clear":
                self.recorded = []
            else:
                self.recording = args[0] == "on"
            return {"recording": self.recording, "recorded": len(self.recorded)}
        if cmd == "inject" and len(args) == 3 and args[0] in ("ab", "ba"):
            d, t, order = args[0], int(args[1]), args[2]
            frames = [f for (fd, ft, f) in self.recorded if fd == d and ft == t]
            if order == "reverse":
                frames.reverse()
            elif order == "shuffle":
                self.rng.shuffle(frames)
            elif order != "inorder":
                return {"error": "order must be inorder, reverse or shuffle"}
            for f in frames:
                self.send(d, f)
            self.stats[d]["injected"] += len(frames)
            return {"injected": len(frames)}
        if cmd == "hold" and len(args) == 3 and args[0] in ("ab", "ba"):
            self.holds[args[0]] = {"count": int(args[1]), "after": int(args[2]), "held": [], "seen": 0}
            return {"holding": args[0]}
        return {"error": "bad command: " + line.strip()}

    def serve_control(self):
        conn, _ = self.ctl.accept()
        with conn:
            conn.settimeout(2)
            data = b""
            while not data.endswith(b"\n") and len(data) < 4096:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            try:
                reply = self.command(data.decode())
            except (ValueError, IndexError) as e:
                reply = {"error": str(e)}
            conn.sendall((json.dumps(reply) + "\n").encode())

    def run(self):
        fds = [s for s in self.socks.values()] + [self.ctl]
        while True:
            now = time.monotonic()
            while self.pending and self.pending[0][0] <= now:
                _, _, d, frame = heapq.heappop(self.pending)
                self.send(d, frame)
            timeout = max(0.0, self.pending[0][0] - now) if self.pending else 1.0
            ready, _, _ = select.select(fds, [], [], timeout)
            for s in ready:
                if s is self.ctl:
                    self.serve_control()
                    continue
                d = self.dir_of[s.fileno()]
                for _ in range(256):  # a bounded batch per wake-up keeps both directions moving
                    try:
                        frame, anc, _, addr = s.recvmsg(MAX_FRAME, socket.CMSG_SPACE(32))
                    except BlockingIOError:
                        break
                    if addr[2] == PACKET_OUTGOING:
                        continue  # our own transmission seen by the tap
                    if len(frame) > MAX_WIRE_FRAME:
                        self.stats[d]["oversize"] += 1  # a GSO super-frame: not forwarded
                        continue
                    for level, typ, cdata in anc:
                        if level == SOL_PACKET and typ == PACKET_AUXDATA and len(cdata) >= 4:
                            if struct.unpack_from("I", cdata)[0] & TP_STATUS_CSUMNOTREADY:
                                frame = fix_checksum(frame)
                    self.forward(d, frame)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("if_a")
    ap.add_argument("if_b")
    ap.add_argument("--control", required=True, help="UNIX socket path for commands")
    ap.add_argument("--seed", type=int, default=8, help="seed of the impairment decisions")
    o = ap.parse_args()
    w = Wire(o.if_a, o.if_b, o.control, o.seed)
    print("wire: %s <-> %s, control %s" % (o.if_a, o.if_b, o.control), flush=True)
    try:
        w.run()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
