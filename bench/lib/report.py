#!/usr/bin/env python3
"""report.py: turns bench/throughput's raw JSON (one file per repetition and path) into
performance.md (min / median / max over repetitions), gnuplot PNGs in img/, and the summary
lines on stdout, the last of which is ratio_tcp1_vs_wireguard_go=<x.xx>.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import statistics
import subprocess

IMPLS = ["wgcored", "wireguard-go", "veth"]
TUNNELS = ["wgcored", "wireguard-go"]
RUNS = [("tcp1", "a2b"), ("tcp1", "b2a"), ("tcp4", "a2b"), ("tcp4", "b2a"), ("udp", "a2b"),
        ("udp", "b2a")]
RUN_TITLE = {"tcp1": "TCP, 1 stream", "tcp4": "TCP, 4 streams", "udp": "UDP, -b 0 -l 1380 -w 4M"}


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return (min(values), statistics.median(values), max(values))


def p99(xs):
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]


def fmt(st, digits=2, unit=""):
    if st is None:
        return "—"
    lo, med, hi = st
    if len(st) and lo == hi:
        return f"{med:.{digits}f}{unit}"
    return f"**{med:.{digits}f}**{unit} ({lo:.{digits}f}–{hi:.{digits}f})"


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def load(raw):
    data = {i: [] for i in IMPLS}
    for path in sorted(glob.glob(os.path.join(raw, "*.json"))):
        with open(path) as f:
            r = json.load(f)
        data.setdefault(r["impl"], []).append(r)
    return data


def collect(data):
    """Per path: {metric key: (min, median, max)} plus the errors seen."""
    out = {}
    for impl, reps in data.items():
        if not reps:
            continue
        m = {}
        for test, d in RUNS:
            rows = [r for rep in reps for r in rep["runs"] if r["test"] == test and r["dir"] == d]
            m[f"{test}_{d}_gbps"] = stats([r["rcv_bps"] / 1e9 for r in rows])
            if test == "udp":
                m[f"{test}_{d}_sent_gbps"] = stats([r["sent_bps"] / 1e9 for r in rows])
                m[f"{test}_{d}_loss"] = stats([r["loss_pct"] for r in rows])
            else:
                m[f"{test}_{d}_retr"] = stats([r.get("retransmits") for r in rows])
            for side in ("sender", "receiver"):
                m[f"{test}_{d}_cpu_{side}"] = stats([
                    r[f"cpu_{side}_s"] / (r["rcv_bytes"] / 1e9)
                    for r in rows if f"cpu_{side}_s" in r and r["rcv_bytes"] > 0])
            if test != "udp" and d == "a2b":
                pings = [r["ping"] for r in rows if "ping" in r]
                m[f"ping_{test}_avg"] = stats([statistics.mean(p["rtts_ms"]) for p in pings
                                               if p["rtts_ms"]])
                m[f"ping_{test}_p99"] = stats([p99(p["rtts_ms"]) for p in pings if p["rtts_ms"]])
                m[f"ping_{test}_loss"] = stats([100.0 * (p["sent"] - p["received"]) / p["sent"]
                                                for p in pings if p["sent"]])
        paced = [r for rep in reps for r in rep["runs"] if r["test"] == "udp_paced"]
        m["udp_paced_gbps"] = stats([r["rcv_bps"] / 1e9 for r in paced])
        m["udp_paced_loss"] = stats([r["loss_pct"] for r in paced])
        m["udp_paced_found"] = len(paced)
        idle = [rep["ping_idle"] for rep in reps]
        m["ping_idle_avg"] = stats([statistics.mean(p["rtts_ms"]) for p in idle if p["rtts_ms"]])
        m["ping_idle_p99"] = stats([p99(p["rtts_ms"]) for p in idle if p["rtts_ms"]])
        m["reps"] = len(reps)
        m["errors"] = [e for rep in reps for e in rep.get("errors", [])]
        out[impl] = m
    return out


def ratio(m, a, b, key):
    try:
        return m[a][key][1] / m[b][key][1]
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def write_plots(m, raw, img):
    """Three PNGs: throughput per run, ping RTT idle / under load, CPU seconds per GB."""
    impls = [i for i in IMPLS if i in m]
    tunnels = [i for i in TUNNELS if i in m]
    colors = {"wgcored": "#1f77b4", "wireguard-go": "#d62728", "veth": "#7f7f7f"}

    def table(path, rows, cols, key):
        # One line per row label; for each column: median min max (gnuplot histogram errorbars).
        with open(path, "w") as f:
            for label, rkey in rows:
                vals = []
                for c in cols:
                    st = m[c].get(key(rkey))
                    vals += ["NaN"] * 3 if st is None else [f"{st[1]:.6g}", f"{st[0]:.6g}",
                                                             f"{st[2]:.6g}"]
                f.write(f'"{label}" ' + " ".join(vals) + "\n")

    def plot(name, dat, cols, title, ylabel, logscale, rotate=False):
        plots = []
        for n, c in enumerate(cols):
            b = 2 + 3 * n
            xt = ":xtic(1)" if n == 0 else ""
            plots.append(f"'{dat}' using {b}:{b + 1}:{b + 2}{xt} title '{c}' "
                         f"lc rgb '{colors[c]}'")
        script = f"""
set terminal pngcairo size 1000,520 font 'DejaVu Sans,11' noenhanced
set output '{os.path.join(img, name)}'
set title '{title}'
set ylabel '{ylabel}'
set style data histogram
set style histogram errorbars gap 1.5 lw 1.2
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics lc rgb '#dddddd'
set key top right
set xtics nomirror {'rotate by 30 right' if rotate else ''}
set ytics nomirror
{'set logscale y 10' if logscale else 'set yrange [0:*]'}
plot {', '.join(plots)}
"""
        sp = os.path.join(raw, name.replace(".png", ".gp"))
        with open(sp, "w") as f:
            f.write(script)
        subprocess.run(["gnuplot", sp], check=True)

    rows = [(f"{t} {d}", f"{t}_{d}") for t, d in RUNS]
    dat = os.path.join(raw, "throughput.dat")
    table(dat, rows, impls, lambda r: f"{r}_gbps")
    plot("throughput.png", dat, impls,
         "Received throughput, median of repetitions (bars: min-max); log scale",
         "Gbit/s", True)

    rows = [("idle", "idle"), ("under TCP 1 stream a->b", "tcp1"),
            ("under TCP 4 streams a->b", "tcp4")]
    for stat in ("avg", "p99"):
        dat = os.path.join(raw, f"ping_{stat}.dat")
        table(dat, rows, impls, lambda r, s=stat: f"ping_{r}_{s}")
    # Average and p99 side by side: one plot each keeps the bars readable.
    plot("latency_avg.png", os.path.join(raw, "ping_avg.dat"), impls,
         "Ping RTT a->b, average (bufferbloat: idle vs under load); log scale", "ms", True)
    plot("latency_p99.png", os.path.join(raw, "ping_p99.dat"), impls,
         "Ping RTT a->b, 99th percentile; log scale", "ms", True)

    if tunnels:
        rows = []
        for t, d in RUNS:
            rows.append((f"{t} {d} send", f"{t}_{d}_cpu_sender"))
            rows.append((f"{t} {d} recv", f"{t}_{d}_cpu_receiver"))
        dat = os.path.join(raw, "cpu.dat")
        table(dat, rows, tunnels, lambda r: r)
        plot("cpu.png", dat, tunnels,
             "Daemon CPU seconds per GB delivered (utime+stime, all threads), per side",
             "CPU s / GB", False, rotate=True)


# The other performance documents, which this generated one points to (a reader starts here).
SEE_ALSO = ("Not measured here: the control plane at routing and churn scale against wireguard-go (single changes, bulk set, `get`, memory per idle peer, a full BGP table, the AllowedIPs trie at a million prefixes, frr-wgd at 100 000 routes, churn) is in [performance-control.md](performance-control.md); handshake, UAPI and idle-memory microbenchmarks are in [performance-microbench.md](performance-microbench.md).")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--duration", type=int, required=True)
    ap.add_argument("--reps", type=int, required=True)
    ap.add_argument("--pings", type=int, required=True)
    ap.add_argument("--command", required=True)
    args = ap.parse_args()

    m = collect(load(args.raw))
    img = os.path.join(args.out, "img")
    os.makedirs(img, exist_ok=True)
    write_plots(m, args.raw, img)

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    buildtype = "?"
    try:
        with open(os.path.join(args.build, "meson-info", "intro-buildoptions.json")) as f:
            buildtype = next(o["value"] for o in json.load(f) if o["name"] == "buildtype")
    except (OSError, StopIteration, ValueError):
        pass
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    uptime = {k: open(os.path.join(args.raw, f"uptime_{k}")).read().strip()
              for k in ("start", "end") if os.path.exists(os.path.join(args.raw, f"uptime_{k}"))}
    wgversion = sh(["wireguard-go", "--version"]).splitlines()
    # The build may come from another checkout than this script (WGCORE_BENCH_COMMIT says which).
    commit = (os.environ.get("WGCORE_BENCH_COMMIT") or
              sh(["git", "-C", root, "describe", "--always", "--dirty"]) or "?")
    iperf = (sh(["iperf3", "--version"]).splitlines() or ["iperf3"])[0].split(" (")[0]

    r_tcp1 = ratio(m, "wgcored", "wireguard-go", "tcp1_a2b_gbps")
    lines = []
    w = lines.append
    w("# Datapath performance")
    w("")
    w("Generated by `bench/throughput` (issue 9); do not edit by hand, rerun it:")
    w("")
    w("```")
    w(f"sudo {args.command}")
    w("```")
    w("")
    w(f"- Date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}; machine: {cpu}, "
      f"{os.cpu_count()} CPUs, Linux {platform.release()}")
    for k, v in uptime.items():
        w(f"- Load at {k}: `{v}`")
    w(f"- wgcored: `{commit}`, meson buildtype `{buildtype}`; wireguard-go: "
      f"{wgversion[0] if wgversion else '?'} (Debian)")
    w(f"- {args.reps} repetition(s), interleaved across paths; iperf3 runs of {args.duration} s; "
      f"{args.pings} idle pings at 10 ms; fresh namespaces and daemons for every repetition")
    cc = os.environ.get("BENCH_TCP_CC", "")
    if cc:
        w(f"- TCP congestion control: `{cc}` (iperf3 -C)")
    else:
        with open("/proc/sys/net/ipv4/tcp_congestion_control") as f:
            w(f"- TCP congestion control: the system's default, `{f.read().strip()}`")
    w("- Cells: **median** (min–max) over repetitions. a2b: namespace a sends to b; b2a: iperf3 -R.")
    w("")
    w(SEE_ALSO)
    w("")
    w("## Headline")
    w("")
    for key, title in [("tcp1_a2b_gbps", "TCP 1 stream a2b"), ("tcp4_a2b_gbps", "TCP 4 streams a2b"),
                       ("udp_a2b_gbps", "UDP received a2b")]:
        rv = ratio(m, "wgcored", "wireguard-go", key)
        rb = ratio(m, "wgcored", "veth", key)
        w(f"- {title}: wgcored / wireguard-go = "
          f"{'—' if rv is None else f'{rv:.2f}×'}; wgcored / plain veth = "
          f"{'—' if rb is None else f'{rb:.3f}'}")
    w("")
    impls = [i for i in IMPLS if i in m]
    head = "| | " + " | ".join(impls) + " |"
    sep = "|---|" + "---|" * len(impls)

    w("## Throughput (Gbit/s received)")
    w("")
    w(head)
    w(sep)
    for t, d in RUNS:
        w(f"| {RUN_TITLE[t]} {d} | " + " | ".join(fmt(m[i][f'{t}_{d}_gbps'], 3) for i in impls) + " |")
    for d in ("a2b", "b2a"):
        w(f"| UDP offered (sent) {d} | " +
          " | ".join(fmt(m[i][f'udp_{d}_sent_gbps'], 3) for i in impls) + " |")
        w(f"| UDP loss % {d} | " + " | ".join(fmt(m[i][f'udp_{d}_loss'], 1) for i in impls) + " |")
    w("| UDP a2b, highest paced rate with < 5 % loss (received) | " +
      " | ".join(fmt(m[i]['udp_paced_gbps'], 3) for i in impls) + " |")
    w("| UDP a2b, loss % at that rate | " +
      " | ".join(fmt(m[i]['udp_paced_loss'], 1) for i in impls) + " |")
    w("| UDP a2b, repetitions where a paced rate held | " +
      " | ".join(f"{m[i]['udp_paced_found']}/{m[i]['reps']}" for i in impls) + " |")
    for t in ("tcp1", "tcp4"):
        w(f"| TCP retransmits, {RUN_TITLE[t][5:]} a2b | " +
          " | ".join(fmt(m[i][f'{t}_a2b_retr'], 0) for i in impls) + " |")
    w("")
    w("![throughput](img/throughput.png)")
    w("")
    w("## Latency: ping RTT a→b (ms)")
    w("")
    w("Under load: pings every 10 ms during the TCP a2b runs above, so they queue behind the "
      "bulk data on the same path (bufferbloat). Lost pings under load are counted separately.")
    w("")
    w(head)
    w(sep)
    for key, title in [("ping_idle_avg", "idle, average"), ("ping_idle_p99", "idle, p99"),
                       ("ping_tcp1_avg", "TCP 1 stream load, average"),
                       ("ping_tcp1_p99", "TCP 1 stream load, p99"),
                       ("ping_tcp1_loss", "TCP 1 stream load, ping loss %"),
                       ("ping_tcp4_avg", "TCP 4 streams load, average"),
                       ("ping_tcp4_p99", "TCP 4 streams load, p99"),
                       ("ping_tcp4_loss", "TCP 4 streams load, ping loss %")]:
        w(f"| {title} | " + " | ".join(fmt(m[i][key], 3) for i in impls) + " |")
    added = []
    for i in impls:
        try:
            added.append(f"{m[i]['ping_tcp1_avg'][1] - m[i]['ping_idle_avg'][1]:.3f}")
        except (KeyError, TypeError):
            added.append("—")
    w("| added average RTT under TCP 1 stream (median load − median idle) | " + " | ".join(added) + " |")
    w("")
    w("![ping average](img/latency_avg.png)")
    w("")
    w("![ping p99](img/latency_p99.png)")
    w("")
    tunnels = [i for i in TUNNELS if i in m]
    if tunnels:
        w("## CPU seconds per GB delivered, per side")
        w("")
        w("utime+stime of each daemon process (all threads, from /proc/PID/stat) over an iperf3 "
          "run, divided by the GB the receiver got. Kernel work done on the daemon's behalf in "
          "softirq context (veth, the iperf3 TCP stacks) is not included.")
        w("")
        w("| | " + " | ".join(f"{i} sender | {i} receiver" for i in tunnels) + " |")
        w("|---|" + "---|" * (2 * len(tunnels)))
        for t, d in RUNS:
            w(f"| {RUN_TITLE[t]} {d} | " + " | ".join(
                f"{fmt(m[i][f'{t}_{d}_cpu_sender'], 2)} | {fmt(m[i][f'{t}_{d}_cpu_receiver'], 2)}"
                for i in tunnels) + " |")
        w("")
        w("![cpu](img/cpu.png)")
        w("")
    errors = [e for i in impls for e in m[i]["errors"]]
    if errors:
        w("## Failed runs")
        w("")
        for e in errors:
            w(f"- {e}")
        w("")
    w("## Method")
    w("")
    w("Two network namespaces joined by a veth (underlay 198.51.100.1–2/24); for the tunnels, "
      "one daemon in each namespace configured with stock `wg` (tests/lib/wg_pair.sh), tunnel "
      f"203.0.113.1–2/24, MTU 1420, both sides knowing each other's endpoint. {iperf} client in "
      "namespace a, server in b; TCP with default options, UDP with `-u -b 0 -l 1380 -w 4M` (send "
      "as fast as possible; received rate = sent rate × (1 − loss); 4 MiB socket buffers at both "
      "iperf3 ends, since with the default 208 KiB the receiving iperf3's own socket overflowed "
      "when a daemon delivered a batch at once, a loss of the application, not of the path), "
      "then paced a→b at 90, 60 "
      "and 40 % of the full-rate run's received rate until the loss stays under 5 % (the first "
      "rate that holds is the one reported). Daemons log at level error.")
    w("")
    with open(os.path.join(args.out, "performance.md"), "w") as f:
        f.write("\n".join(lines))

    print(f"wrote {os.path.join(args.out, 'performance.md')} and plots in {img}")
    for key in ("tcp1_a2b_gbps", "tcp1_b2a_gbps", "tcp4_a2b_gbps", "udp_a2b_gbps", "udp_paced_gbps"):
        row = "  ".join(f"{i}={fmt(m[i][key], 3).replace('**', '')}" for i in impls)
        print(f"{key}: {row}")
    for i in impls:
        print(f"ping {i}: idle avg {fmt(m[i]['ping_idle_avg'], 3).replace('**', '')} ms, "
              f"tcp1-load avg {fmt(m[i]['ping_tcp1_avg'], 3).replace('**', '')} ms, "
              f"p99 {fmt(m[i]['ping_tcp1_p99'], 3).replace('**', '')} ms")
    for e in errors:
        print(f"failed: {e}")
    print(f"ratio_tcp1_vs_wireguard_go={'nan' if r_tcp1 is None else f'{r_tcp1:.2f}'}")


if __name__ == "__main__":
    main()
