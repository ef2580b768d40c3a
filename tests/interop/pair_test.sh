#!/bin/bash
# Interop: IMPL_A <-> IMPL_B over FAMILY (4|6) outer addresses, configured only with stock `wg`,
# with INITIATOR (a|b) the only side that knows the other's endpoint. Checks ping over IPv4 and
# IPv6 inner addresses, a TCP transfer with end-to-end SHA-256, and `wg show dump` statistics.
# Usage: pair_test.sh wgcored|wireguard-go wgcored|wireguard-go 4|6 a|b
set -euo pipefail
WGC_TEST_NAME="pair-$1-$2-v$3-$4"
# shellcheck source=tests/lib/wg_pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/wg_pair.sh"

pair_setup "$1" "$2" "$3"
initiator="$4"
pair_configure "$initiator"
if [[ "$initiator" == a ]]; then from="$NS_A" to="$NS_B" dst4="$TUN_B4" dst6="$TUN_B6"; else from="$NS_B" to="$NS_A" dst4="$TUN_A4" dst6="$TUN_A6"; fi

wait_for 10 ns_exec "$from" ping -c1 -W1 "$dst4" || fail "no IPv4 ping from the initiator (${initiator})"
pass "ping over IPv4 inner addresses"
wait_for 5 ns_exec "$from" ping -6 -c1 -W1 "$dst6" || fail "no IPv6 ping from the initiator"
pass "ping over IPv6 inner addresses"
# The responder learned the initiator's endpoint from the handshake and can answer on its own.
if [[ "$initiator" == a ]]; then back="$TUN_A4"; else back="$TUN_B4"; fi
ns_exec "$to" ping -c2 -i 0.2 -W1 "$back" >/dev/null || fail "no ping from the responder"
pass "responder reaches the initiator through the learned endpoint"

transfer_check "$from" "$to" "$dst4" 8
pass "8 MiB over TCP/IPv4 arrived intact"
transfer_check "$to" "$from" "$([[ "$initiator" == a ]] && echo "$TUN_A6" || echo "$TUN_B6")" 4
pass "4 MiB over TCP/IPv6 the other way arrived intact"
bps="$(iperf_tcp "$from" "$to" "$dst4" 2)"
[[ "$bps" -gt 0 ]] || fail "iperf3 carried nothing"
pass "iperf3 TCP: $((bps / 1000000)) Mbit/s"

for side in a b; do
  if [[ "$side" == a ]]; then ns="$NS_A" iface="$IF_A"; else ns="$NS_B" iface="$IF_B"; fi
  hs="$(dump_field "$ns" "$iface" 5)"
  rx="$(dump_field "$ns" "$iface" 6)"
  tx="$(dump_field "$ns" "$iface" 7)"
  now="$(date +%s)"
  [[ "$hs" -gt $((now - 120)) && "$hs" -le $((now + 1)) ]] || fail "side ${side}: latest handshake ${hs} not recent"
  # 8 MiB went one way and 4 MiB the other: each side sent and received at least 4 MiB.
  [[ "$rx" -gt 4194304 && "$tx" -gt 4194304 ]] || fail "side ${side}: byte counters rx=${rx} tx=${tx} too small"
done
ep="$(dump_field "$NS_B" "$IF_B" 3)"
[[ "$ep" == "$(endpoint_of a)" ]] || fail "side b shows endpoint ${ep}, expected $(endpoint_of a)"
pass "wg show dump: handshake time, byte counters and endpoints on both sides"

# Our CLI reads the same interface through the Control API (UAPI client for either daemon).
json="$(ns_exec "$NS_A" "$WGCORE_CLI" show "$IF_A" --json)" || fail "wgcore show --json failed"
python3 - "$json" "$KEY_B_PUB" "$(dump_field "$NS_A" "$IF_A" 6)" <<'PY' || fail "wgcore show --json disagrees with wg show dump: ${json}"
import json, sys
d = json.loads(sys.argv[1])["interfaces"][0]
peer = d["peers"][0]
assert d["backend"].startswith("uapi:"), d["backend"]
assert d["has_private_key"] is True and "private_key" not in d
assert peer["public_key"] == sys.argv[2], peer
# Counters only grow: what wgcore read a moment after wg must not be smaller.
assert peer["rx_bytes"] >= int(sys.argv[3]) > 0, peer
assert peer["latest_handshake"] > 0 and len(peer["allowed_ips"]) == 2, peer
PY
pass "wgcore show --json agrees with wg show dump"

# fwmark set live with `wg` reaches the sockets (SO_MARK) and the tunnel keeps working.
if [[ "$1" == wgcored ]]; then
  ns_exec "$NS_A" wg set "$IF_A" fwmark 0x42
  [[ "$(ns_exec "$NS_A" wg show "$IF_A" fwmark)" == 0x42 ]] || fail "fwmark not reported back"
  ns_exec "$NS_A" ss -uanpe | grep ":${PORT_A} " | grepq "fwmark:0x42" || fail "UDP sockets lack SO_MARK 0x42"
  ns_exec "$NS_A" ping -c1 -W2 "$([[ "$initiator" == a ]] && echo "$dst4" || echo "$back")" >/dev/null ||
    fail "tunnel broken after fwmark change"
  pass "fwmark 0x42 applied to the UDP sockets; tunnel still works"
fi
