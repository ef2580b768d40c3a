#!/bin/bash
# Roaming: side a (the initiator) changes its underlay address while pinging; b must follow the
# authenticated packets to the new address within a few seconds. a's sticky source address
# disappears under it, so this also covers the fall back to a kernel-chosen source.
set -euo pipefail
WGC_TEST_NAME="roaming"
# shellcheck source=tests/lib/wg_pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/wg_pair.sh"

pair_setup wgcored wgcored 4
pair_configure a
wait_for 10 ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" || fail "no initial ping"
[[ "$(dump_field "$NS_B" "$IF_B" 3)" == "${UNDER_A4}:${PORT_A}" ]] || fail "b did not learn a's endpoint"

ns_spawn "$NS_A" pinger ping -i 0.1 -c 80 -W1 "$TUN_B4"
pinger=$WGC_LAST_PID
sleep 1
NEW_A4=198.51.100.11
# Delete first: removing a primary address also removes the secondaries of its subnet.
ip -n "$NS_A" addr del "${UNDER_A4}/24" dev veth0
ip -n "$NS_A" addr add "${NEW_A4}/24" dev veth0
wait_for 5 sh -c "[ \"\$(ip netns exec $NS_B wg show $IF_B dump | awk 'NR==2{print \$3}')\" = '${NEW_A4}:${PORT_A}' ]" ||
  fail "b still sends to $(dump_field "$NS_B" "$IF_B" 3) after a moved to ${NEW_A4}"
pass "b's endpoint for a moved to ${NEW_A4}:${PORT_A}"
wait_for 5 ns_exec "$NS_B" ping -c1 -W1 "$TUN_A4" || fail "b cannot reach a at its new address"
pass "traffic continues after roaming"
wait "$pinger" 2>/dev/null || true
# Most of the 80 pings must have made it despite the move.
got="$(grep -c 'bytes from' "${WGC_TEST_DIR}/pinger.log" || true)"
[[ "$got" -ge 60 ]] || fail "only ${got}/80 pings answered across the move"
pass "${got}/80 pings answered across the address change"
