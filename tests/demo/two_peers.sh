#!/bin/bash
# The README's first command (via scripts/demo): two network namespaces joined by a veth, wgcored
# on both sides configured with stock `wg`, then `wg show`, a ping and a 5-second iperf3 figure.
# For scale, the same figure for Debian's wireguard-go, measured on this machine in the same run.
set -euo pipefail
WGC_TEST_NAME="demo"
# shellcheck source=tests/lib/wg_pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/wg_pair.sh"
secs="${DEMO_SECONDS:-5}"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "Two namespaces (${UNDER_A4} <-> ${UNDER_B4} over veth), wgcored on both sides"
pair_setup wgcored wgcored 4
pair_configure both
ns_exec "$NS_A" ping -c1 -W2 "$TUN_B4" >/dev/null 2>&1 || true  # the first packet starts the handshake

say "ping ${TUN_B4} through the tunnel"
ns_exec "$NS_A" ping -c 3 -i 0.2 "$TUN_B4" || fail "ping through the tunnel failed"

say "wg show (stock wireguard-tools talking to wgcored's UAPI socket)"
ns_exec "$NS_A" wg show "$IF_A"

say "iperf3 TCP, ${secs} s, wgcored <-> wgcored"
ours="$(iperf_tcp "$NS_A" "$NS_B" "$TUN_B4" "$secs")"
printf 'wgcored:       %6.2f Gbit/s\n' "$(awk -v b="$ours" 'BEGIN { print b / 1e9 }')"

if [[ "${DEMO_COMPARE:-1}" == 1 ]]; then
  say "The same with Debian's wireguard-go on both sides, for comparison"
  stop_pid "$PID_A"
  stop_pid "$PID_B"
  ip netns del "$NS_A"; ip netns del "$NS_B"
  sed -i "/^${NS_A}\$/d; /^${NS_B}\$/d" "${WGC_TEST_DIR}/.namespaces"
  WGC_NS_SUFFIX="${WGC_NS_SUFFIX}g"
  pair_setup wireguard-go wireguard-go 4
  pair_configure both
  wait_for 10 ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" || fail "wireguard-go tunnel did not come up"
  theirs="$(iperf_tcp "$NS_A" "$NS_B" "$TUN_B4" "$secs")"
  printf 'wireguard-go:  %6.2f Gbit/s\n' "$(awk -v b="$theirs" 'BEGIN { print b / 1e9 }')"
  printf 'ratio wgcored/wireguard-go: %.2f\n' "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { print a / b }')"
fi
say "Done; namespaces and daemons are removed on exit."
