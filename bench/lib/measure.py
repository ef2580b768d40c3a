#!/usr/bin/env python3
"""measure.py: one repetition of bench/throughput's measurements on one prepared path.

Runs, from namespace a to b's address: idle ping RTT; iperf3 TCP with 1 and 4 streams and UDP at
full rate (-u -b 0 -l 1380), each a->b and b->a (-R); ping RTT while the TCP a->b runs load the
path (bufferbloat); the highest paced UDP rate a->b that loses under 5 % (tried at 90, 60 and
40 % of what the full-rate run received, the first that holds is kept); and the daemons' CPU time
(utime+stime of /proc/PID/stat, every thread) per run. Writes one JSON file. Every process it
starts is its own child, ended by its Popen handle.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
PORT = 5201

TESTS = [  # name, iperf3 arguments
    ("tcp1", []),
    ("tcp4", ["-P", "4"]),
    # -l 1380: the largest UDP payload that fits a 1420-byte tunnel MTU (1380 + 8 + 20 + 12 spare).
    ("udp", ["-u", "-b", "0", "-l", "1380", "-w", "4M"]),
]
# -w 4M (both iperf3 ends' socket buffers, every path alike): with the default 208 KiB the
# receiving iperf3's own socket overflowed (UdpRcvbufErrors in b) whenever a daemon delivered a
# batch faster than iperf3 read it, although the tunnel had carried every datagram (a's and b's
# tunnel packet counters equal): that is the application's loss, not the path's.
UDP_SOCKET = ["-w", "4M"]
# The paced UDP search: fractions of the full-rate run's received rate, and the loss it must stay
# under (issue 9: "UDP loss < 5 % at the highest rate it sustains").
PACED_FRACTIONS = (0.9, 0.6, 0.4)
PACED_MAX_LOSS = 5.0


def cpu_ticks(pid):
    if pid <= 0:
        return 0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)


def in_ns(ns, *cmd):
    return ["ip", "netns", "exec", ns] + list(cmd)


def wait_listening(ns, port, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = subprocess.run(in_ns(ns, "ss", "-ltnH"), capture_output=True, text=True).stdout
        if re.search(rf":{port}\b", out):
            return True
        time.sleep(0.05)
    return False


def parse_ping(text):
    rtts = [float(m) for m in re.findall(r"time=([0-9.]+) ms", text)]
    m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
    sent = int(m.group(1)) if m else len(rtts)
    return {"rtts_ms": rtts, "sent": sent, "received": len(rtts)}


def ping_cmd(args, count=None, deadline=None):
    cmd = ["ping", "-n", "-i", "0.01", "-W", "2"]
    if count:
        cmd += ["-c", str(count)]
    if deadline:
        cmd += ["-w", str(deadline)]
    return in_ns(args.ns_a, *cmd, args.target)


def run_iperf(args, test, extra, reverse, with_ping):
    server = subprocess.Popen(in_ns(args.ns_b, "iperf3", "-s", "-1", "-p", str(PORT)),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pinger = None
    try:
        if not wait_listening(args.ns_b, PORT):
            raise RuntimeError("iperf3 server did not start")
        cmd = in_ns(args.ns_a, "iperf3", "-c", args.target, "-p", str(PORT), "-t",
                    str(args.duration), "-J", "--connect-timeout", "5000") + extra
        if reverse:
            cmd.append("-R")
        c0 = (cpu_ticks(args.pid_a), cpu_ticks(args.pid_b))
        t0 = time.monotonic()
        client = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if with_ping:
            # Start once the transfer has ramped up; stop before it ends.
            time.sleep(min(1.0, args.duration / 4))
            pinger = subprocess.Popen(ping_cmd(args, deadline=max(1, args.duration - 1)),
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            out, err = client.communicate(timeout=args.duration + 30)
        except subprocess.TimeoutExpired:
            client.kill()
            client.communicate()
            raise RuntimeError("iperf3 client hung")
        t1 = time.monotonic()
        c1 = (cpu_ticks(args.pid_a), cpu_ticks(args.pid_b))
        ping = None
        if pinger:
            pout, _ = pinger.communicate(timeout=30)
            ping = parse_ping(pout)
            pinger = None
        try:
            j = json.loads(out)
        except json.JSONDecodeError:
            raise RuntimeError(f"iperf3 gave no JSON: {err.strip()[:300]}")
        if "error" in j:
            raise RuntimeError(f"iperf3: {j['error']}")
        e = j["end"]
        res = {"test": test, "dir": "b2a" if reverse else "a2b", "elapsed_s": t1 - t0}
        if test.startswith("udp"):
            # sum_received is the server's view: what arrived, and what was lost on the way.
            snt, rcv = e["sum_sent"], e["sum_received"]
            res.update(sent_bps=snt["bits_per_second"], rcv_bps=rcv["bits_per_second"],
                       loss_pct=rcv.get("lost_percent", 0.0), rcv_bytes=rcv["bytes"])
        else:
            res.update(sent_bps=e["sum_sent"]["bits_per_second"],
                       rcv_bps=e["sum_received"]["bits_per_second"],
                       retransmits=e["sum_sent"].get("retransmits"),
                       rcv_bytes=e["sum_received"]["bytes"])
        cpu_a = (c1[0] - c0[0]) / HZ
        cpu_b = (c1[1] - c0[1]) / HZ
        sender, receiver = (cpu_b, cpu_a) if reverse else (cpu_a, cpu_b)
        if args.pid_a > 0:
            res.update(cpu_sender_s=sender, cpu_receiver_s=receiver)
        if ping is not None:
            res["ping"] = ping
        return res
    finally:
        if pinger:
            pinger.kill()
            pinger.wait()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--impl", required=True)
    ap.add_argument("--rep", type=int, required=True)
    ap.add_argument("--ns-a", required=True)
    ap.add_argument("--ns-b", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--pid-a", type=int, default=0)
    ap.add_argument("--pid-b", type=int, default=0)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--pings", type=int, default=300)
    ap.add_argument("--out", required=True)
    ap.add_argument("--congestion", default=os.environ.get("BENCH_TCP_CC", ""),
                    help="iperf3 -C for the TCP runs (default: the system's)")
    args = ap.parse_args()

    result = {"impl": args.impl, "rep": args.rep, "runs": [], "errors": [],
              "congestion": args.congestion}
    p = subprocess.run(ping_cmd(args, count=args.pings), capture_output=True, text=True,
                       timeout=args.pings * 0.01 + 30)
    result["ping_idle"] = parse_ping(p.stdout)
    for test, extra in TESTS:
        if args.congestion and test.startswith("tcp"):
            extra = extra + ["-C", args.congestion]
        for reverse in (False, True):
            label = f"{args.impl} {test} {'b2a' if reverse else 'a2b'}"
            try:
                r = run_iperf(args, test, extra, reverse, with_ping=(test != "udp" and not reverse))
                result["runs"].append(r)
                extra_txt = f" loss {r['loss_pct']:.1f} %" if "loss_pct" in r else ""
                print(f"  {label}: {r['rcv_bps'] / 1e9:.3f} Gbit/s{extra_txt}", file=sys.stderr,
                      flush=True)
            except (RuntimeError, subprocess.TimeoutExpired, KeyError) as ex:
                # One failed run is reported in the document, not fatal to the whole benchmark.
                result["errors"].append(f"{label}: {ex}")
                print(f"  {label}: FAILED: {ex}", file=sys.stderr, flush=True)
            time.sleep(0.5)
    full = [r for r in result["runs"] if r["test"] == "udp" and r["dir"] == "a2b"]
    if full:
        for fraction in PACED_FRACTIONS:
            rate = int(full[0]["rcv_bps"] * fraction)
            label = f"{args.impl} udp paced a2b at {rate / 1e9:.3f} Gbit/s"
            try:
                r = run_iperf(args, "udp_paced", ["-u", "-b", str(rate), "-l", "1380"] + UDP_SOCKET,
                              False, with_ping=False)
            except (RuntimeError, subprocess.TimeoutExpired, KeyError) as ex:
                result["errors"].append(f"{label}: {ex}")
                print(f"  {label}: FAILED: {ex}", file=sys.stderr, flush=True)
                break
            r.update(fraction=fraction, offered_bps=rate)
            print(f"  {label}: {r['rcv_bps'] / 1e9:.3f} received, loss {r['loss_pct']:.1f} %",
                  file=sys.stderr, flush=True)
            time.sleep(0.5)
            if r["loss_pct"] < PACED_MAX_LOSS:
                result["runs"].append(r)
                break
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
