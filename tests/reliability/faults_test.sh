#!/bin/bash
# Faults (issue #8): wgcored (a) and wireguard-go (b) joined through a wire in a middle namespace
# that impairs both directions like `tc netem` (with tc netem itself where the kernel has
# sch_netem, else in wire.py; IMPAIR_BY says which):
#   - 10 % loss, 25 % reordering, 10 % duplication, 200 ms delay: pings and a 1 MiB TCP transfer
#     (SHA-256 checked) get through; duplicates are dropped as replays, never delivered twice;
#   - on a poor link (5 % loss, 100 ms delay each way):
#       a's endpoint changes (new underlay address) and b follows it,
#       b (the peer) restarts with its configuration and a, still holding the old session, gets
#       traffic through again within the timers' bounds,
#       a (wgcored) restarts with its configuration re-applied by `wg setconf`, and b, holding
#       the old session, recovers within the same bounds.
# roaming_test.sh (initiator moves, clean link) and restart_test.sh (wgcored restarts, clean link,
# either side first) stay as they are; these add the impaired link and the other implementation.
set -euo pipefail
WGC_TEST_NAME="faults"
# shellcheck source=tests/lib/wg_pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/wg_pair.sh"
# shellcheck source=tests/reliability/rel_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/rel_lib.sh"
WGC_LOG_LEVEL="${WGC_LOG_LEVEL:-info}"
# KEEPALIVE_TIMEOUT (10 s) + REKEY_TIMEOUT (5 s) + jitter, plus two lost handshake attempts (5 s
# each) on the lossy link.
RECOVERY_BOUND=30

wire_pair_setup wgcored wireguard-go
pair_configure both
wait_for 10 ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" || fail "no handshake through the wire"
impair  # resolves IMPAIR_BY
echo "impairment by: ${IMPAIR_BY} ($( [[ $IMPAIR_BY == netem ]] && echo "tc netem on the wire's interfaces" || echo "wire.py; this kernel has no sch_netem"))"

# ping_stats NS ADDR COUNT: "answered dups avg_rtt_ms" of COUNT pings at 20/s.
ping_stats() {
  local out
  out="$(ns_exec "$1" ping -c "$3" -i 0.05 -W 2 "$2" 2>&1 || true)"
  printf '%s %s %s\n' "$(grep -c 'bytes from' <<<"$out" || true)" "$(grep -c 'DUP!' <<<"$out" || true)" \
    "$(sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$out")"
}

# impaired KIND: how many frames the impairment hit so far, both directions. wire.py counts each
# kind; tc netem counts only what it drops (its qdisc's "dropped"), so for netem only loss is
# known and the other kinds print "?" (the reorder and duplicate cases then rest on their
# replay figures alone).
impaired() {
  local kind="$1" st
  if [[ "$IMPAIR_BY" == wire ]]; then
    st="$(wire_cmd stats)"
    echo $(($(jfield "$st" "stats.ab.$kind") + $(jfield "$st" "stats.ba.$kind")))
  elif [[ "$kind" == lost ]]; then
    local dev n=0 d
    for dev in wirea wireb; do
      d="$(ns_exec "$NS_M" tc -s qdisc show dev "$dev" | sed -n 's/.*(dropped \([0-9]*\),.*/\1/p' | head -n1)"
      n=$((n + ${d:-0}))
    done
    echo "$n"
  else
    echo "?"
  fi
}

fault_case() {  # NAME IMPAIRMENT...
  local name="$1" hs0 before after answered dups rtt t0 secs replays dup0 dup1 kind hit0 hit1
  shift
  # The counter that proves this case's impairment happened (a reorder case that reordered
  # nothing would pass while proving nothing).
  case "$1" in
    loss=*) kind=lost ;;
    reorder=*) kind=reordered ;;
    dup=*) kind=dup ;;
    *) kind="" ;;
  esac
  [[ -z "$kind" ]] || hit0="$(impaired "$kind")"
  hs0="$(dump_field "$NS_A" "$IF_A" 5)"
  before="$(drop_count "$NS_A" "$IF_A" replay)"
  dup0="$(jfield "$(wire_cmd stats)" stats.ba.dup_data)"
  impair "$@"
  read -r answered dups rtt < <(ping_stats "$NS_A" "$TUN_B4" 100)
  t0="$EPOCHREALTIME"
  transfer_check "$NS_A" "$NS_B" "$TUN_B4" 1
  transfer_check "$NS_B" "$NS_A" "$TUN_A4" 1
  secs="$(elapsed "$t0")"
  impair
  sleep 0.2  # frames still in flight on the wire
  after="$(drop_count "$NS_A" "$IF_A" replay)"
  replays=$((after - before))
  dup1="$(jfield "$(wire_cmd stats)" stats.ba.dup_data)"
  CASE_DUPS_TO_A=$((dup1 - dup0))  # data frames wire.py duplicated toward a (0 with netem)
  if [[ -n "$kind" ]]; then
    hit1="$(impaired "$kind")"
    if [[ "$hit1" == "?" ]]; then
      echo "note: ${name}: tc netem keeps no count of ${kind} frames; the case rests on its other checks"
    else
      (( hit1 - hit0 > 0 )) || fail "${name}: the impairment never happened (${kind} frames: ${hit0} before, ${hit1} after)"
      echo "FIGURE: ${name}: ${IMPAIR_BY} ${kind} $((hit1 - hit0)) frames during the case"
    fi
  fi
  echo "FIGURE: ${name} ($*): ${answered}/100 pings answered, ${dups} duplicate replies, avg RTT ${rtt} ms; 1 MiB each way (SHA-256 ok) in ${secs} s; a's replay drops +${replays}"
  [[ "$(dump_field "$NS_A" "$IF_A" 5)" == "$hs0" ]] ||
    echo "note: ${name}: a new handshake happened during the case (allowed: the session is kept alive)"
  ((dups == 0)) || fail "${name}: ${dups} duplicated packets reached the tunnel"
  CASE_ANSWERED=$answered CASE_REPLAYS=$replays CASE_RTT=$rtt
}

fault_case "loss" loss=0.1
((CASE_ANSWERED >= 60)) || fail "loss: only ${CASE_ANSWERED}/100 pings answered at 10 % loss each way"
pass "10 % loss: tunnel up, data intact"
fault_case "reorder" reorder=0.25
((CASE_ANSWERED >= 97)) || fail "reorder: only ${CASE_ANSWERED}/100 pings answered"
((CASE_REPLAYS == 0)) || fail "reorder: ${CASE_REPLAYS} reordered packets dropped as replays (inside the window)"
pass "25 % reordering: nothing dropped as a replay, data intact"
fault_case "duplicate" dup=0.1
((CASE_ANSWERED >= 97)) || fail "duplicate: only ${CASE_ANSWERED}/100 pings answered"
((CASE_REPLAYS > 0)) || fail "duplicate: no replay drops counted at 10 % duplication"
if [[ "$IMPAIR_BY" == wire ]]; then
  ((CASE_REPLAYS == CASE_DUPS_TO_A)) ||
    fail "duplicate: wire.py duplicated ${CASE_DUPS_TO_A} data frames toward a, a counted ${CASE_REPLAYS} replays"
  echo "FIGURE: duplicate: ${CASE_DUPS_TO_A} data frames duplicated toward a, ${CASE_REPLAYS} dropped as replays"
fi
pass "10 % duplication: duplicates dropped and counted (${CASE_REPLAYS} at a), none delivered twice"
fault_case "delay" delay=0.2
((CASE_ANSWERED >= 97)) || fail "delay: only ${CASE_ANSWERED}/100 pings answered"
awk -v r="$CASE_RTT" 'BEGIN { exit !(r >= 400) }' || fail "delay: average RTT ${CASE_RTT} ms with 200 ms each way"
pass "200 ms delay each way: tunnel up, data intact"

# --- the poor link: 5 % loss and 100 ms each way for endpoint change and restarts ------------
impair loss=0.05 delay=0.1
NEW_A4=198.51.100.11
ip -n "$NS_A" addr del "${UNDER_A4}/24" dev veth0
ip -n "$NS_A" addr add "${NEW_A4}/24" dev veth0
t0="$EPOCHREALTIME"
# a speaks from its new address (its sticky source is gone); b must follow it there.
b_endpoint_is_new() {
  ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" >/dev/null 2>&1 || true
  [[ "$(dump_field "$NS_B" "$IF_B" 3)" == "${NEW_A4}:${PORT_A}" ]]
}
wait_for 15 b_endpoint_is_new || fail "b still sends to $(dump_field "$NS_B" "$IF_B" 3) after a moved to ${NEW_A4}"
wait_for 10 ns_exec "$NS_B" ping -c1 -W1 "$TUN_A4" || fail "b cannot reach a at its new address"
echo "FIGURE: endpoint change of a (wgcored) on the poor link: b (wireguard-go) follows and answers after $(elapsed "$t0") s"
pass "wgcored's endpoint change followed by wireguard-go"

# b (wireguard-go) restarts with its configuration; its endpoint for a is configured.
pair_restart b
t0="$EPOCHREALTIME"
# a speaks first: its packets die at b until a's timers start a new handshake.
wait_for "$RECOVERY_BOUND" ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" ||
  fail "a never got through to restarted b within ${RECOVERY_BOUND} s"
secs="$(elapsed "$t0")"
echo "FIGURE: peer (wireguard-go) restart on the poor link, wgcored speaking first: traffic again after ${secs} s (bound ${RECOVERY_BOUND} s)"
pass "recovered from the peer's restart in ${secs} s"

# a (wgcored) restarts; its configuration is re-applied with `wg setconf`; b speaks first.
pair_restart a
t0="$EPOCHREALTIME"
wait_for "$RECOVERY_BOUND" ns_exec "$NS_B" ping -c1 -W1 "$TUN_A4" ||
  fail "b never got through to restarted wgcored within ${RECOVERY_BOUND} s"
secs="$(elapsed "$t0")"
echo "FIGURE: wgcored restart with config re-applied (wg setconf) on the poor link, peer speaking first: traffic again after ${secs} s (bound ${RECOVERY_BOUND} s)"
transfer_check "$NS_B" "$NS_A" "$TUN_A4" 1
pass "recovered from wgcored's restart in ${secs} s; data intact"
