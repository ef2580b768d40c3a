#!/bin/bash
# No stall (issue 15): while wgcored applies a large configuration change, the tunnel to another
# peer keeps carrying traffic. A wgcored pair a <-> b; a pings b every 10 ms while a receives,
# through stock `wg`, first PREFIXES allowed IPs for a third peer in one `wg addconf`, then a
# `wg setconf` of PEERS peers that keeps b (so b's session must survive it too). Every ping must
# come back, none later than MAX_RTT_MS; the change must land in full (`wg show`).
# Env: WGCORE_NO_STALL_PREFIXES (default 100000), WGCORE_NO_STALL_PEERS (10000),
#      WGCORE_NO_STALL_MAX_RTT_MS (50).
set -euo pipefail
WGC_TEST_NAME="no-stall"
# shellcheck source=tests/lib/wg_pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/wg_pair.sh"
require_cmd python3

PREFIXES=${WGCORE_NO_STALL_PREFIXES:-100000}
PEERS=${WGCORE_NO_STALL_PEERS:-10000}
MAX_RTT_MS=${WGCORE_NO_STALL_MAX_RTT_MS:-50}

pair_setup wgcored wgcored 4
pair_configure a
wait_for 10 ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" >/dev/null || fail "no ping through the tunnel"

# The two changes, as files for stock `wg`: a third peer with PREFIXES /24s (in 10.0.0.0/8 and
# beyond, never the tunnel's own ranges), and a full configuration of PEERS peers plus b.
big="${WGC_TEST_DIR}/big.conf" many="${WGC_TEST_DIR}/many.conf"
python3 - "$PREFIXES" "$PEERS" "$big" "$many" "$(cat "${WGC_TEST_DIR}/a.key")" "$KEY_B_PUB" \
  "$TUN_B4" "$TUN_B6" "$(endpoint_of b)" <<'EOF'
import base64, os, sys
prefixes, peers = int(sys.argv[1]), int(sys.argv[2])
big, many, priv, b_pub, b4, b6, b_ep = sys.argv[3:10]
key = lambda: base64.b64encode(os.urandom(32)).decode()
ips = ", ".join("%d.%d.%d.0/24" % (10 + (i >> 16), (i >> 8) & 255, i & 255) for i in range(prefixes))
with open(big, "w") as f:
    f.write("[Peer]\nPublicKey = %s\nAllowedIPs = %s\n" % (key(), ips))
with open(many, "w") as f:
    f.write("[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n" % priv)
    f.write("[Peer]\nPublicKey = %s\nAllowedIPs = %s/32, %s/128\nEndpoint = %s\n\n" % (b_pub, b4, b6, b_ep))
    for i in range(peers):
        f.write("[Peer]\nPublicKey = %s\nAllowedIPs = 172.%d.%d.%d/32\n\n" % (key(), 16 + (i >> 16), (i >> 8) & 255, i & 255))
EOF

hs_before="$(dump_field "$NS_A" "$IF_A" 5)"
pinger_start "$NS_A" "$TUN_B4"  # every 10 ms for as long as both changes take
sleep 1
t0=$(date +%s%N)
ns_exec "$NS_A" wg addconf "$IF_A" "$big" || fail "wg addconf of ${PREFIXES} allowed IPs"
t1=$(date +%s%N)
ns_exec "$NS_A" wg setconf "$IF_A" "$many" || fail "wg setconf of ${PEERS} peers"
t2=$(date +%s%N)
sleep 1
pinger_stop
sent=$PING_SENT got=$PING_RECEIVED max=$PING_MAX_MS
printf 'no-stall: addconf of %s prefixes %d ms, setconf of %s peers %d ms; %s pings sent, %s back, max RTT %s ms\n' \
  "$PREFIXES" $(((t1 - t0) / 1000000)) "$PEERS" $(((t2 - t1) / 1000000)) "$sent" "$got" "$max"
# Where a lost ping went: each side's per-reason drop counters.
for side in a b; do
  if [[ $side == a ]]; then ns=$NS_A iface=$IF_A; else ns=$NS_B iface=$IF_B; fi
  printf 'drops on %s: %s\n' "$side" "$(ns_exec "$ns" "$WGCORE_CLI" show "$iface" --json |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("drops", {}))')"
done
[[ $sent -ge 100 ]] || fail "only ${sent} pings sent during the changes"
[[ $got -eq $sent ]] || fail "$((sent - got)) of ${sent} pings lost during the changes"
python3 -c "import sys; sys.exit(0 if float('$max') <= float('$MAX_RTT_MS') else 1)" ||
  fail "max RTT ${max} ms during the changes (limit ${MAX_RTT_MS} ms): the datapath stalled"
pass "${sent} pings every 10 ms during both changes, none lost, max RTT ${max} ms"

# The changes landed in full: `wg show` on a (after setconf: b plus PEERS peers; the third peer
# of addconf was not in the new set and is gone).
n_peers=$(ns_exec "$NS_A" wg show "$IF_A" peers | wc -l)
[[ $n_peers -eq $((PEERS + 1)) ]] || fail "after setconf: ${n_peers} peers, expected $((PEERS + 1))"
# Into a file first: `grep -q` would stop reading and end wg with SIGPIPE under pipefail.
ns_exec "$NS_A" wg show "$IF_A" allowed-ips >"${WGC_TEST_DIR}/allowed.txt"
grep -qxF "${KEY_B_PUB}	${TUN_B4}/32 ${TUN_B6}/128" "${WGC_TEST_DIR}/allowed.txt" ||
  fail "b's allowed IPs changed by a setconf that named them again: $(grep -F "$KEY_B_PUB" "${WGC_TEST_DIR}/allowed.txt")"
pass "setconf: ${n_peers} peers, b kept its allowed IPs"
# b's session survived the setconf that named b again: no new handshake was needed.
hs_after="$(dump_field "$NS_A" "$IF_A" 5)"
[[ $hs_after -eq $hs_before ]] || fail "b's session was replaced by the setconf (handshake ${hs_before} -> ${hs_after})"
ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" >/dev/null || fail "no ping after the changes"
pass "b's session survived the setconf"
