#!/usr/bin/env bash
# Suite nm: a full-tunnel profile (AllowedIPs = 0.0.0.0/0, ::/0 on peer a, a LAN on peer b).
# The endpoints are reachable only through NM's default route via a router, and the "third"
# addresses only through the tunnel: they answer once the VPN is up (traffic goes through the
# tunnel) while the handshakes keep reaching the endpoints through the underlay (no routing
# loop: fwmark + suppress_prefixlength 0). NM itself adds a host route to the first endpoint
# (its "VPN gateway"), so peer b's endpoint is the one that proves the fwmark path.
# Then the service is killed (SIGKILL, by PID): NM must report the connection failed and the
# interface, routes and policy rules must all be gone.
# shellcheck disable=SC2154  # PEER_PUB_b, PEER_IF_b: set by peer_start (printf -v)
set -uo pipefail
source "${WGCORE_SOURCE_ROOT}/tests/nm/nm_env.sh"

nm_session_begin nm_peer2_ns

peer_start a wireguard-go 51821 203.0.113.2/26 fd00:77::2/112
PEER_NS="$NS_P2" peer_start b wgcored 51822 203.0.113.3/32 fd00:77::3/128
conf="${WGC_TEST_DIR}/wgfull.conf"
client_conf "$conf" "203.0.113.1/26, fd00:77::1/112" a 51821 "0.0.0.0/0, ::/0"
printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = %s/32, 198.18.1.0/24\nEndpoint = %s:51822\n' \
  "$PEER_PUB_b" 203.0.113.3 "$PEER2_ADDR" >>"$conf"
peer_allow a "$CLIENT_PUB" "203.0.113.1/32,fd00:77::1/128"
peer_allow b "$CLIENT_PUB" "203.0.113.1/32"
ip -n "$NS_P2" route add 203.0.113.1/32 dev "$PEER_IF_b" || fail "peer2 route back"

# Without the tunnel the third address is unreachable (the router has no route to it), so a
# ping that succeeds later went through the tunnel.
ns_exec "$NS_NM" ping -c 1 -W 1 "$THIRD4" >/dev/null 2>&1 && fail "${THIRD4} reachable without the tunnel: the test proves nothing"

nmc connection import type wgcore file "$conf" >/dev/null || fail "import"
show_cmd nmc connection up wgfull || fail "nmcli connection up wgfull"
show_cmd ip -n "$NS_NM" -4 rule show
show_cmd ip -n "$NS_NM" -6 rule show
show_cmd ip -n "$NS_NM" -4 route show table all type unicast
rules4="$(ip -n "$NS_NM" -4 rule show)"
mark="$(nsenter -t "$NM_PID" -m -n wg show wgfull fwmark)"
[[ -n "$mark" && "$mark" != off ]] || fail "no fwmark on wgfull"
table=$((mark))
grep -q "not from all fwmark ${mark} lookup ${table}" <<<"$rules4" || fail "no 'not fwmark' rule for table ${table}"
grep -q "from all lookup main suppress_prefixlength 0" <<<"$rules4" || fail "no suppress_prefixlength 0 rule"
grep -q "not from all fwmark ${mark} lookup ${table}" <<<"$(ip -n "$NS_NM" -6 rule show)" || fail "no IPv6 fwmark rule"
ip -n "$NS_NM" route show table "$table" | grepq '^default dev wgfull' || fail "no default route in table ${table}"

# Unmarked traffic to the endpoint itself would enter the tunnel; only the device's marked
# UDP goes out through the underlay. A working handshake therefore proves there is no loop.
ip -n "$NS_NM" route get "$PEER2_ADDR" | grepq 'dev wgfull' || fail "unmarked traffic to endpoint b does not take the tunnel (the loop check proves nothing)"
ip -n "$NS_NM" route get "$PEER2_ADDR" mark "$mark" | grepq 'dev u0' || fail "marked traffic to endpoint b does not take the underlay"
ip -n "$NS_NM" route get "$THIRD4" | grepq 'dev wgfull' || fail "${THIRD4} is not routed into the tunnel"
ns_exec "$NS_NM" ping -c 1 -W 1 "$THIRD4_P2" >/dev/null 2>&1 || true

rx0="$(peer_rx a)"
show_cmd ns_exec "$NS_NM" ping -c 3 -W 2 "$THIRD4" || fail "no ping to ${THIRD4} through the full tunnel"
ns_exec "$NS_NM" ping -6 -c 2 -W 2 "$THIRD6" >/dev/null || fail "no ping to ${THIRD6} through the full tunnel"
rx1="$(peer_rx a)"
((rx1 - rx0 >= 5 * 84)) || fail "the peer received only $((rx1 - rx0)) bytes for 5 pings: not through the tunnel"
show_cmd ns_exec "$NS_NM" ping -c 2 -W 2 "$THIRD4_P2" || fail "no ping to ${THIRD4_P2} through peer b (endpoint ${PEER2_ADDR}): routing loop?"
show_cmd nsenter -t "$NM_PID" -m -n wg show wgfull
hs="$(nsenter -t "$NM_PID" -m -n wg show wgfull latest-handshakes | awk '$2 > 0' | wc -l)"
[[ "$hs" -eq 2 ]] || fail "expected handshakes with both endpoints, have ${hs}"
pass "full tunnel: ${THIRD4}, ${THIRD6}, ${THIRD4_P2} through the tunnel; both handshakes through the underlay"

nmc connection down wgfull >/dev/null || fail "nmcli connection down wgfull"
wait_for 5 nm_settled_to "$baseline" ||
  fail "left behind after down: $(diff <(printf '%s\n' "$baseline") <(nm_state))"
pass "down: default route, fwmark rules and interface gone"

# --- crash: SIGKILL the service while the full tunnel is up ---------------------------------
nmc connection up wgfull >/dev/null || fail "wgfull up again"
rules4="$(ip -n "$NS_NM" -4 rule show)" || fail "ip rule show"
grep -q suppress_prefixlength <<<"$rules4" || fail "rules missing after re-up: ${rules4}"
pid="$(nm_service_pid_for)"
[[ -n "$pid" && "$pid" != *$'\n'* ]] || fail "cannot find the one service instance (got '${pid}')"
# NM's verdict is the VPN connection's VpnStateChanged(state, reason) signal on the bus.
spawn nm_monitor dbus-monitor --system "type='signal',interface='org.freedesktop.NetworkManager.VPN.Connection',member='VpnStateChanged'"
monitor=$WGC_LAST_PID
sleep 0.3
echo "killing nm-wgcore-service PID ${pid} with SIGKILL"
kill -KILL "$pid"
wait_for 10 nm_inactive wgfull || fail "NM still shows wgfull active after the crash"
show_cmd nmc -f NAME,TYPE,DEVICE,STATE connection show --active
sleep 0.5
stop_pid "$monitor"
echo "--- VpnStateChanged during the crash (state 7 = disconnected, 6 = failed; reason 4 = service stopped):"
grep -A2 'member=VpnStateChanged' "${WGC_TEST_DIR}/nm_monitor.log" | grep uint32 | paste - - | tee "${WGC_TEST_DIR}/vpn_states"
grep -qE 'uint32 (6|7)[[:space:]]+uint32 4$' "${WGC_TEST_DIR}/vpn_states" ||
  fail "NM did not report the VPN as stopped by a service failure (reason 4, 'The VPN service stopped unexpectedly')"
wait_for 5 nm_settled_to "$baseline" ||
  fail "left behind after the crash: $(diff <(printf '%s\n' "$baseline") <(nm_state))"
wait_for 5 nm_no_service || fail "processes left after the crash: $(nm_service_pids)"
[[ ! -e "$NM_WORK/run-nm/wireguard/wgfull.sock" ]] || fail "the cleanup guard left the dead service's UAPI socket"
grep 'cleanup after exit' "$NM_WORK/log/nm.log" || true
pass "service crash: NM reports the failure, interface, routes and rules gone"
