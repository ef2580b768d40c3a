#!/bin/bash
# Replay (issue #8): WireGuard datagrams between b (initiator) and a, both wgcored, recorded on a
# userspace wire (wire.py) and injected again toward the receiver:
#   - data b->a in order, reversed, shuffled: every one dropped as a replay, none reaches a's TUN;
#   - b's handshake initiation to a: dropped as a replayed TAI64N; a's response to b: dropped (its
#     index was consumed); the session survives (no new handshake, traffic flows);
#   - delayed: after b restarted and a new session exists, the old data and initiation: dropped;
#   - reordering inside the window: one datagram held back while 8000 later ones pass is still
#     delivered; held back past the window (8200 > 8192 - 64), it is dropped as a replay.
# Delivery is counted by numbered UDP datagrams at a receiver inside a's tunnel (udpseq.py).
set -euo pipefail
WGC_TEST_NAME="replay"
# shellcheck source=tests/lib/wg_pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/wg_pair.sh"
# shellcheck source=tests/reliability/rel_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/rel_lib.sh"
UDPSEQ="$(dirname "${BASH_SOURCE[0]}")/udpseq.py"
WGC_LOG_LEVEL="${WGC_LOG_LEVEL:-info}"

wire_pair_setup wgcored wgcored
wire_cmd record on >/dev/null
pair_configure b
wait_for 10 ns_exec "$NS_B" ping -c1 -W1 "$TUN_A4" || fail "no handshake through the wire"
hs_before="$(dump_field "$NS_A" "$IF_A" 5)"

# The inner receiver and 50 numbered datagrams b -> a, recorded on the wire.
STATE="${WGC_TEST_DIR}/udpseq.json"
ns_spawn "$NS_A" udpseq python3 "$UDPSEQ" recv "$TUN_A4" 9000 "$STATE"
sleep 0.3
ns_exec "$NS_B" python3 "$UDPSEQ" send "$TUN_A4" 9000 50 500
delivered() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$STATE" "$1" 2>/dev/null || echo 0; }
distinct_at_least() { (($(delivered distinct) >= $1)); }
# in_burst FIRST COUNT: how many distinct numbers of [FIRST, FIRST + COUNT) were delivered.
in_burst() {
  python3 -c '
import json, sys
a, n = int(sys.argv[2]), int(sys.argv[3])
print(sum(max(0, min(hi, a + n - 1) - max(lo, a) + 1) for lo, hi in json.load(open(sys.argv[1]))["ranges"]))' \
    "$STATE" "$1" "$2"
}
wait_for 5 distinct_at_least 50 ||
  fail "only $(delivered distinct)/50 datagrams delivered before any replay"
wire_cmd record off >/dev/null
rec="$(wire_cmd stats)"
n_data="$(jfield "$rec" recorded_by.ba4)" n_init="$(jfield "$rec" recorded_by.ba1)" n_resp="$(jfield "$rec" recorded_by.ab2)"
echo "recorded: ${n_data} data b->a (incl. the ping and keepalives), ${n_init} initiation(s), ${n_resp} response(s)"
((n_data >= 51 && n_init >= 1 && n_resp >= 1)) || fail "the wire recorded too little: ${rec}"

# expect_drops NS IFACE WANT BEFORE_JSON WHAT REASONS...: the sum of REASONS on the device must
# reach its value in BEFORE_JSON (from drops_json) + WANT within 5 s, and not exceed it.
expect_drops() {
  local ns="$1" iface="$2" want="$3" before="$4" what="$5" now delta
  shift 5
  for _ in $(seq 50); do
    now="$(drops_json "$ns" "$iface")"
    delta="$(python3 -c '
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(sum(b.get(r, 0) - a.get(r, 0) for r in sys.argv[3:]))' "$before" "$now" "$@")"
    ((delta >= want)) && break
    sleep 0.1
  done
  ((delta == want)) || fail "${what}: $* rose by ${delta}, expected ${want}"
  echo "FIGURE: ${what}: ${want} injected, dropped as $(python3 -c '
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(", ".join(f"{k} +{b[k] - a.get(k, 0)}" for k in sorted(b) if b[k] != a.get(k, 0)))' "$before" "$now"); delivered to a's TUN: $(($(delivered total) - 50))"
}

for order in inorder reverse shuffle; do
  before="$(drops_json "$NS_A" "$IF_A")"
  [[ "$(jfield "$(wire_cmd inject ba 4 "$order")" injected)" == "$n_data" ]] || fail "inject ${order}"
  expect_drops "$NS_A" "$IF_A" "$n_data" "$before" "data replayed ${order}" replay
done
sleep 0.3
[[ "$(delivered total)" == 50 ]] || fail "replayed data reached a's tunnel: $(cat "$STATE")"
pass "data replayed in order, reversed and shuffled: all dropped as replays, none delivered"

before="$(drops_json "$NS_A" "$IF_A")"
wire_cmd inject ba 1 inorder >/dev/null
expect_drops "$NS_A" "$IF_A" "$n_init" "$before" "initiation replayed to a" handshake_replay
before="$(drops_json "$NS_B" "$IF_B")"
wire_cmd inject ab 2 inorder >/dev/null
expect_drops "$NS_B" "$IF_B" "$n_resp" "$before" "response replayed to b" unknown_receiver_index handshake_invalid
ns_exec "$NS_B" ping -c1 -W2 "$TUN_A4" >/dev/null || fail "the session broke after handshake replays"
[[ "$(dump_field "$NS_A" "$IF_A" 5)" == "$hs_before" ]] || fail "a replayed initiation caused a new handshake"
pass "replayed initiation and response dropped; the session survives without a new handshake"

# Delayed: b restarts (new session, new indices); the old session's datagrams come late.
pair_restart b
wait_for 15 ns_exec "$NS_B" ping -c1 -W1 "$TUN_A4" || fail "no new session after b's restart"
[[ "$(dump_field "$NS_A" "$IF_A" 5)" != "$hs_before" ]] || fail "no new handshake after b's restart"
late_reasons=(replay unknown_receiver_index no_keypair decrypt_failed)
before="$(drops_json "$NS_A" "$IF_A")"
wire_cmd inject ba 4 shuffle >/dev/null
expect_drops "$NS_A" "$IF_A" "$n_data" "$before" "old-session data replayed after a new handshake" "${late_reasons[@]}"
before="$(drops_json "$NS_A" "$IF_A")"
wire_cmd inject ba 1 inorder >/dev/null
expect_drops "$NS_A" "$IF_A" "$n_init" "$before" "old initiation replayed after a new handshake" handshake_replay
sleep 0.3
[[ "$(delivered total)" == 50 ]] || fail "late replays reached a's tunnel: $(cat "$STATE")"
pass "delayed replays from an older session dropped and counted"

# Reordering inside and beyond the replay window (kCounterWindowSize = 8192 - 64 = 8128).
window_case() {  # FIRST AFTER WANT_HELD_DELIVERED
  local first="$1" after="$2" want="$3" count=$(($2 + 1)) before got held_in drops d0
  before="$(drop_count "$NS_A" "$IF_A" replay)"
  wire_cmd hold ba 1 "$after" >/dev/null
  d0="$(delivered distinct)"
  ns_exec "$NS_B" python3 "$UDPSEQ" send "$TUN_A4" 9000 "$count" 4000 "$first"
  wait_for 10 distinct_at_least "$((d0 + count - 1))" || true
  sleep 0.5
  got="$(in_burst "$first" "$count")"
  [[ "$(jfield "$(wire_cmd stats)" stats.ba.released)" -ge 1 ]] || fail "the wire never released the held datagram"
  held_in="$(in_burst "$first" 1)"
  drops=$(($(drop_count "$NS_A" "$IF_A" replay) - before))
  echo "FIGURE: datagram held back behind ${after} later ones: delivered=${held_in}; ${got}/${count} of the burst delivered; replay drops +${drops}"
  if [[ "$want" == 1 ]]; then
    ((held_in == 1 && got == count && drops == 0)) || fail "in-window reordering (${after} < 8128) lost packets: $(cat "$STATE")"
  else
    ((held_in == 0 && got == count - 1 && drops == 1)) ||
      fail "a datagram ${after} behind (beyond the 8128 window) was not dropped as exactly one replay: $(cat "$STATE")"
  fi
}
window_case 100 8000 1
pass "a datagram reordered 8000 places back (inside the window) is delivered"
window_case 20000 8200 0
pass "a datagram reordered 8200 places back (beyond the window) is dropped and counted as a replay"
