#!/bin/bash
# quick_pair.sh: a fast A/B throughput check for datapath work (issue 9). One pair of the given
# implementation in fresh namespaces (tests/lib/wg_pair.sh), one iperf3 TCP run of SECONDS a->b
# with pings every 10 ms alongside; prints throughput, ping average and loss, and each daemon's
# CPU seconds (utime+stime) per GB received, which shared-machine load disturbs much less. With PROFILE=1
# records `perf record -g` of side a's daemon (the sender; PROFILE_SIDE=b: the receiver) into $PROFILE_OUT (default
# /tmp/quick_pair.perf). Extra environment (e.g. WGCORE_OFFLOADS=0) reaches the daemons.
# Use: sudo bench/quick_pair.sh wgcored|wireguard-go [SECONDS]
set -euo pipefail
if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 0
fi
impl="$1" secs="${2:-5}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lib/wg_pair.sh
source "${here}/../tests/lib/wg_pair.sh"
WGC_LOG_LEVEL=error
pair_setup "$impl" "$impl" 4
pair_configure both
# Experiment knob: TXQLEN=N sets both tunnel interfaces' transmit queue length (packets, or
# super-packets with TSO) to see how much of the RTT under load that queue holds.
if [[ -n "${TXQLEN:-}" ]]; then
  ip -n "$NS_A" link set "$IF_A" txqueuelen "$TXQLEN"
  ip -n "$NS_B" link set "$IF_B" txqueuelen "$TXQLEN"
fi
wait_for 10 ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" || fail "no ping through the tunnel"
ns_spawn "$NS_A" pinger sh -c "ping -i 0.01 -c $((secs * 100 - 50)) -q $TUN_B4 >${WGC_TEST_DIR}/ping.txt 2>&1"
ping_pid=$WGC_LAST_PID
if [[ "${PROFILE:-0}" == 1 ]]; then
  perf record -g -o "${PROFILE_OUT:-/tmp/quick_pair.perf}" -p "$([[ "${PROFILE_SIDE:-a}" == b ]] && echo "$PID_B" || echo "$PID_A")" -- sleep "$((secs - 1))" >/dev/null 2>&1 &
  perf_pid=$!
fi
# utime+stime of a daemon in clock ticks (all threads).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ta0="$(ticks "$PID_A")" tb0="$(ticks "$PID_B")"
bps="$(iperf_tcp "$NS_A" "$NS_B" "$TUN_B4" "$secs")"
ta1="$(ticks "$PID_A")" tb1="$(ticks "$PID_B")"
hz="$(getconf CLK_TCK)"
gb="$(echo "$bps * $secs / 8 / 1000000000" | bc -l)"
cpu_a="$(echo "($ta1 - $ta0) / $hz / $gb" | bc -l)" cpu_b="$(echo "($tb1 - $tb0) / $hz / $gb" | bc -l)"
[[ -n "${perf_pid:-}" ]] && wait "$perf_pid"
wait_for 10 sh -c "grep -q rtt ${WGC_TEST_DIR}/ping.txt || grep -q loss ${WGC_TEST_DIR}/ping.txt" || true
avg="$(sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p' "${WGC_TEST_DIR}/ping.txt")"
loss="$(sed -n 's|.* \([0-9.]*\)% packet loss.*|\1|p' "${WGC_TEST_DIR}/ping.txt")"
printf '%s %.3f Gbit/s ping_avg %s ms loss %s%% cpu_s/GB sender %.2f receiver %.2f\n' "$impl" \
  "$(echo "$bps / 1000000000" | bc -l)" "${avg:-?}" "${loss:-?}" "$cpu_a" "$cpu_b"
