#!/bin/bash
# pair_run.sh: one repetition of bench/throughput for one path. Builds two fresh namespaces
# (tests/lib/wg_pair.sh: underlay 198.51.100.0/24, tunnel 203.0.113.0/24 and fd00:77::/64), runs
# measure.py against them and lets netns.sh's EXIT trap remove daemons and namespaces.
# Use: pair_run.sh wgcored|wireguard-go|veth REP DURATION PINGS RESULT_JSON
set -euo pipefail

impl="$1" rep="$2" duration="$3" pings="$4" result="$5"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# shellcheck source=tests/lib/wg_pair.sh
source "${here}/../../tests/lib/wg_pair.sh"

if [[ "$impl" == veth ]]; then
  # The same underlay as the tunnels, with nothing on top: the ceiling for this machine.
  NS_A="$(ns_create a)" NS_B="$(ns_create b)"
  ns_veth "$NS_A" veth0 "$NS_B" veth0 "${UNDER_A4}/24" "${UNDER_B4}/24"
  target="$UNDER_B4" pid_a=0 pid_b=0
else
  pair_setup "$impl" "$impl" 4
  pair_configure both
  target="$TUN_B4" pid_a="$PID_A" pid_b="$PID_B"
  # Both directions must work before timing starts (the first ping also runs the handshake).
  wait_for 10 ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" || fail "${impl}: no ping through the tunnel"
  wait_for 10 ns_exec "$NS_B" ping -c1 -W1 "$TUN_A4" || fail "${impl}: no ping back through the tunnel"
fi

# In the background, so a TERM from bench/throughput runs the cleanup at once instead of after
# the measurement; measure.py's own children live in the namespaces and go with them.
python3 "${here}/measure.py" --impl "$impl" --rep "$rep" --ns-a "$NS_A" --ns-b "$NS_B" \
  --target "$target" --pid-a "$pid_a" --pid-b "$pid_b" --duration "$duration" --pings "$pings" \
  --out "$result" &
measure_pid=$!
# Only while it may still run: once reaped, its PID could belong to someone else.
# shellcheck disable=SC2016  # expanded when the hook runs, not now
on_exit '[[ -z "${measure_pid}" ]] || { kill -TERM "${measure_pid}"; wait "${measure_pid}"; } 2>/dev/null'
rc=0
wait "$measure_pid" || rc=$?
measure_pid=""
[[ $rc -eq 0 ]] || fail "measurement of ${impl} failed"
