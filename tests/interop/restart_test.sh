#!/bin/bash
# Restart: kill side b (wgcored) and start it again with the same configuration. The handshake
# must be re-established and traffic resume, whichever side speaks first: b at once, and a (whose
# old session b no longer knows) within the timers' bounds (KEEPALIVE + REKEY_TIMEOUT + jitter).
set -euo pipefail
WGC_TEST_NAME="restart"
# shellcheck source=tests/lib/wg_pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/wg_pair.sh"

restart_b() {
  pair_stop b
  [[ ! -S "/var/run/wireguard/${IF_B}.sock" ]] || fail "b's socket survived its daemon"
  pair_start_configured b
}

pair_setup wgcored wgcored 4
pair_configure both
wait_for 10 ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" || fail "no initial ping"

restart_b
wait_for 10 ns_exec "$NS_B" ping -c1 -W1 "$TUN_A4" || fail "restarted b cannot reach a"
pass "restarted side re-establishes the session when it speaks first"

restart_b
# a still holds the old session; its packets die at b until a's new-handshake timer fires.
start=$SECONDS
wait_for 30 ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" || fail "a never re-established the session with restarted b"
pass "a recovered after b's restart in $((SECONDS - start)) s (bound: 10 + 5 + jitter s)"
[[ $((SECONDS - start)) -le 25 ]] || fail "recovery took longer than the timers allow"
