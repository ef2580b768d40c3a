#!/bin/bash
# ECN through the tunnel (issue #18 part 3, RFC 6040 like the kernel module): wgcored a and b
# joined by wire.py, which counts the outer ECN/DSCP of every data frame and marks CE like an
# AQM would. Inner UDP traffic with a chosen DS field (tests/reliability/tos_probe.cpp), IPv4
# and IPv6 inside:
#   - outer ECN follows the inner one, outer DSCP is 0 (EF inside stays inside);
#   - CE marked on the way arrives as CE on exactly the inner packets it was marked on, their
#     DSCP kept (half the frames marked at random: the counts must match frame for frame);
#   - a Not-ECT packet is never marked by an AQM (it would drop it), and one marked anyway
#     (ce_force) is dropped at b and counted as ecn_ce_not_ect.
set -euo pipefail
WGC_TEST_NAME="ecn"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/wg_pair.sh"
source "$(dirname "${BASH_SOURCE[0]}")/rel_lib.sh"
PROBE="${TOS_PROBE:-${WGCORE_BUILD_ROOT}/tests/tos_probe}"
[[ -x "$PROBE" ]] || fail "tos_probe not built at ${PROBE}"
N=200

wire_pair_setup wgcored wgcored
pair_configure both
wait_for 10 ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" || fail "no handshake through the wire"
wait_for 10 ns_exec "$NS_A" ping -6 -c1 -W1 "$TUN_B6" || fail "no IPv6 inside the tunnel"

stat_sum() {  # KEY: the a->b direction's counter
  jfield "$(wire_cmd stats)" "stats.ab.$1"
}

# probe ADDR TOS: N datagrams a -> b; b's receiver prints its JSON {ds: count} into recv.log
# (ns_spawn's log of it) once it has N or 3 s passed without one.
probe() {
  local addr="$1" tos="$2" port=$((40000 + RANDOM % 20000)) ready="${WGC_TEST_DIR}/recv.ready.$RANDOM"
  ns_spawn "$NS_B" recv "$PROBE" recv "$addr" "$port" "$N" 3 "$ready"
  local pid=$WGC_LAST_PID
  wait_for 5 test -s "$ready" || fail "receiver did not start"
  ns_exec "$NS_A" "$PROBE" send "$addr" "$port" "$N" "$tos" || fail "sender failed"
  wait "$pid" || fail "receiver failed"
}
recv_result() { tail -n1 "${WGC_TEST_DIR}/recv.log"; }

count_of() {  # JSON DS
  python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], 0))' "$1" "$2"
}

run_case() {  # NAME ADDR TOS IMPAIRMENT...: sets R (receiver JSON) and the wire deltas
  local name="$1" addr="$2" tos="$3"
  shift 3
  wire_cmd impair "$@" >/dev/null
  local st0 st1
  st0="$(wire_cmd stats)"
  : >"${WGC_TEST_DIR}/recv.log"
  probe "$addr" "$tos"
  wire_cmd impair >/dev/null
  st1="$(wire_cmd stats)"
  R="$(recv_result)"
  for k in ecn_not_ect ecn_ect1 ecn_ect0 ecn_ce dscp_nonzero ce_marked; do
    printf -v "D_${k}" '%s' $(( $(jfield "$st1" "stats.ab.$k") - $(jfield "$st0" "stats.ab.$k") ))
  done
  echo "FIGURE: ${name}: inner DS ${tos}, wire $*: outer not-ECT ${D_ecn_not_ect} ECT(0) ${D_ecn_ect0} ECT(1) ${D_ecn_ect1} CE ${D_ecn_ce}, DSCP≠0 ${D_dscp_nonzero}, marked ${D_ce_marked}; b received ${R}"
}

for fam in 4 6; do
  if [[ $fam == 4 ]]; then addr="$TUN_B4"; else addr="$TUN_B6"; fi
  # EF + ECT(0) = 0xba; EF + CE = 0xbb; EF alone = 0xb8.
  run_case "v${fam} ECT(0), clean path" "$addr" 0xba
  ((D_ecn_ect0 >= N && D_ecn_not_ect == 0 && D_dscp_nonzero == 0)) ||
    fail "v${fam}: outer headers not ECT(0) with DSCP 0 for an ECT(0) EF flow"
  [[ "$(count_of "$R" 186)" == "$N" ]] || fail "v${fam}: b did not receive all ${N} unchanged (0xba): ${R}"

  run_case "v${fam} ECT(0), half marked CE" "$addr" 0xba ce=0.5
  ((D_ce_marked > 0 && D_ce_marked < D_ecn_ect0)) || fail "v${fam}: the wire marked ${D_ce_marked} of ${D_ecn_ect0}"
  [[ "$(count_of "$R" 187)" == "$D_ce_marked" ]] ||
    fail "v${fam}: ${D_ce_marked} frames marked CE but b received $(count_of "$R" 187) CE packets: ${R}"
  [[ "$(( $(count_of "$R" 187) + $(count_of "$R" 186) ))" == "$N" ]] || fail "v${fam}: packets lost or changed otherwise: ${R}"

  run_case "v${fam} Not-ECT, AQM marking" "$addr" 0xb8 ce=1
  ((D_ecn_not_ect >= N && D_ce_marked == 0)) || fail "v${fam}: outer not Not-ECT for a Not-ECT flow, or marked"
  [[ "$(count_of "$R" 184)" == "$N" ]] || fail "v${fam}: b did not receive all unchanged (0xb8): ${R}"

  before="$(drop_count "$NS_B" "$IF_B" ecn_ce_not_ect)"
  run_case "v${fam} Not-ECT, forced CE" "$addr" 0xb8 ce_force=1
  after="$(drop_count "$NS_B" "$IF_B" ecn_ce_not_ect)"
  ((D_ce_marked >= N)) || fail "v${fam}: the wire forced CE on ${D_ce_marked} frames"
  [[ "$R" == "{}" ]] || fail "v${fam}: CE-marked Not-ECT packets were delivered: ${R}"
  (( after - before == D_ce_marked )) || fail "v${fam}: ecn_ce_not_ect +$((after - before)), ${D_ce_marked} marked"
  pass "v${fam}: outer ECN from the inner (DSCP 0), CE marks delivered exactly where made, Not-ECT+CE dropped and counted"
done
