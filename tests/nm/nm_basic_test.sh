#!/usr/bin/env bash
# Suite nm: import a wg-quick file with nmcli, `nmcli connection up`, ping a wireguard-go peer
# over the tunnel (IPv4 and IPv6), `wg show` on the NM-managed interface, `nmcli connection
# down`, and nothing of ours left (links, addresses, routes in every table, rules). Then two
# wgcore connections (to wireguard-go and to wgcored) active at once, each in its own service
# instance, and both down again.
set -uo pipefail
source "${WGCORE_SOURCE_ROOT}/tests/nm/nm_env.sh"

nm_session_begin

peer_start a wireguard-go 51821 203.0.113.2/26 fd00:77::2/112
conf="${WGC_TEST_DIR}/wg0.conf"
client_conf "$conf" "203.0.113.1/26, fd00:77::1/112" a 51821 "203.0.113.2/32, fd00:77::2/128" \
  "DNS = 198.18.0.53, 2001:db8:100::53, corp.example" "MTU = 1380"
peer_allow a "$CLIENT_PUB" "203.0.113.1/32,fd00:77::1/128"

echo "=== nmcli session (transcript) ==="
show_cmd nmc connection import type wgcore file "$conf" || fail "import"
show_cmd nmc connection up wg0 || fail "nmcli connection up wg0"
show_cmd nmc connection show --active
show_cmd ns_exec "$NS_NM" ping -c 3 -W 2 203.0.113.2 || fail "no ping over the tunnel (IPv4)"
show_cmd ns_exec "$NS_NM" ping -6 -c 2 -W 2 fd00:77::2 || fail "no ping over the tunnel (IPv6)"
show_cmd nsenter -t "$NM_PID" -m -n wg show wg0 || fail "stock wg does not see the NM-managed interface"
show_cmd ip -n "$NS_NM" addr show dev wg0
show_cmd ip -n "$NS_NM" route show dev wg0
state_up="$(nm_state)"
show_cmd nmc -g IP4.DNS,IP4.DOMAIN,IP6.DNS connection show wg0
dns="$(nmc -g IP4.DNS,IP4.DOMAIN,IP6.DNS connection show wg0 | tr -d "\\\\")"  # -g escapes the colons
for want in 198.18.0.53 corp.example 2001:db8:100::53; do
  grep -qF "$want" <<<"$dns" || fail "DNS ${want} not reported to NM: ${dns}"
done
ip -n "$NS_NM" link show wg0 | grepq 'mtu 1380' || fail "MTU 1380 not applied"
show_cmd nmc connection down wg0 || fail "nmcli connection down wg0"
echo "=== end of transcript ==="

wait_for 5 nm_inactive wg0 || fail "wg0 still active after down"
grep -q 'inet 203.0.113.1/26' <<<"$(ip -n "$NS_NM" addr show dev wg0 2>/dev/null)$state_up" ||
  fail "203.0.113.1/26 was not on wg0 while up"
grep -q '^203.0.113.2 dev wg0' <<<"$state_up" || fail "no route to the peer's AllowedIPs on wg0 while up"
grep -q 'fd00:77::2 dev wg0' <<<"$state_up" || fail "no IPv6 route to the peer's AllowedIPs on wg0 while up"
[[ "$(peer_rx a)" -gt 0 ]] || fail "the peer received nothing"
wait_for 5 nm_settled_to "$baseline" ||
  fail "left behind after down: $(diff <(printf '%s\n' "$baseline") <(nm_state))"
pass "import, up (address, routes, DNS, MTU), ping v4+v6 through wireguard-go, wg show, down: nothing left behind"

# --- every Address of the file reaches the interface ------------------------------------------
# NM's VPN configuration holds one address per family: the import puts the others in
# ipv4.addresses / ipv6.addresses, which NetworkManager adds to the VPN's own.
confx="${WGC_TEST_DIR}/wgx.conf"
pub_wg0="$CLIENT_PUB"
client_conf "$confx" "203.0.113.1/26, 10.202.0.2/24, fd00:77::1/112, fd00:99::2/64" a 51821 "203.0.113.2/32, fd00:77::2/128"
peer_allow a "$CLIENT_PUB" "203.0.113.1/32,fd00:77::1/128"
nmc connection import type wgcore file "$confx" >/dev/null || fail "import wgx"
show_cmd nmc -g ipv4.addresses,ipv6.addresses connection show wgx
nmc connection up wgx >/dev/null || fail "wgx up"
addrs="$(ip -n "$NS_NM" addr show dev wgx)"
printf '%s\n' "$addrs"
for a in 203.0.113.1/26 10.202.0.2/24 fd00:77::1/112 fd00:99::2/64; do
  grep -qF " $a " <<<"$addrs" || fail "Address $a of the file is not on wgx"
done
grep -F "wgx" "$NM_WORK/log/nm.log" | grep -q "left out" && fail "the service still says an address was left out"
wait_for 5 ns_exec "$NS_NM" ping -c 1 -W 1 -I 203.0.113.1 203.0.113.2 || fail "no ping over wgx"
nmc connection down wgx >/dev/null || fail "wgx down"
wait_for 5 nm_settled_to "$baseline" ||
  fail "left behind after wgx: $(diff <(printf '%s\n' "$baseline") <(nm_state))"
nmc connection delete wgx >/dev/null || fail "delete wgx"
peer_allow a "$pub_wg0" "203.0.113.1/32,fd00:77::1/128"  # the tunnel addresses are wg0's again
pass "all four Address entries of the file on the interface (two through ipv4/ipv6.addresses)"

# --- two wgcore connections at once -------------------------------------------------------
peer_start b wgcored 51822 203.0.113.66/26 fd00:77::1:2/112
conf1="${WGC_TEST_DIR}/wg1.conf"
client_conf "$conf1" "203.0.113.65/26, fd00:77::1:1/112" b 51822 "203.0.113.66/32, fd00:77::1:2/128"
peer_allow b "$CLIENT_PUB" "203.0.113.65/32,fd00:77::1:1/128"
nmc connection import type wgcore file "$conf1" >/dev/null || fail "import wg1"
nmc connection up wg0 >/dev/null || fail "wg0 up (second time)"
nmc connection up wg1 >/dev/null || fail "wg1 up while wg0 is up"
show_cmd nmc -f NAME,TYPE,DEVICE,STATE connection show --active
ns_exec "$NS_NM" ping -c 2 -W 2 203.0.113.2 >/dev/null || fail "wg0: no ping while wg1 is up"
ns_exec "$NS_NM" ping -c 2 -W 2 203.0.113.66 >/dev/null || fail "wg1: no ping to the wgcored peer"
ns_exec "$NS_NM" ping -6 -c 2 -W 2 fd00:77::1:2 >/dev/null || fail "wg1: no IPv6 ping"
instances=()
for p in $(nm_service_pid_for); do instances+=("$p"); done
[[ ${#instances[@]} -eq 2 ]] || fail "expected 2 service instances, found ${#instances[@]}"
for p in "${instances[@]}"; do
  tr '\0' ' ' <"/proc/$p/cmdline" | grepq -- '--bus-name org.freedesktop.NetworkManager.wgcore.Connection_' ||
    fail "instance $p was not started with --bus-name"
done
nmc connection down wg1 >/dev/null || fail "wg1 down"
ns_exec "$NS_NM" ping -c 1 -W 2 203.0.113.2 >/dev/null || fail "wg0 broke when wg1 went down"
pass "two wgcore connections at once (wireguard-go and wgcored peers), one service instance each"

# --- a failing bring-up: wg1 asks for the UDP port wg0 already uses ----------------------------
port="$(nsenter -t "$NM_PID" -m -n wg show wg0 listen-port)"
nmc connection modify wg1 +vpn.data "listen-port=${port}" || fail "modify wg1"
out="$(nmc connection up wg1 2>&1)" && fail "wg1 came up on a port in use"
printf '$ nmcli connection up wg1   # ListenPort %s is taken by wg0\n%s\n' "$port" "$out"
grep -q "failed" <<<"$out" || fail "nmcli did not report the failure: ${out}"
grep "nm-wgcore-service.*'wg1'" "$NM_WORK/log/nm.log" | tail -n 1
grep -q "nm-wgcore-service.*'wg1'.*in use" "$NM_WORK/log/nm.log" || fail "the reason (port in use) is not in NM's log"
ip -n "$NS_NM" link show wg1 >/dev/null 2>&1 && fail "wg1 left behind after the failed bring-up"
nmc connection down wg0 >/dev/null || fail "wg0 down"
wait_for 5 nm_settled_to "$baseline" ||
  fail "left behind after two connections: $(diff <(printf '%s\n' "$baseline") <(nm_state))"
pass "a failed bring-up is reported (nmcli + reason in NM's log) and leaves nothing; all down, nothing left"

# --- invalid profiles: each one fails with the service's reason, never "stopped unexpectedly" -
# The service replies to Connect with the error and then quits; the reply must leave before the
# process does (it did not always: NM saw NoReply and said the service stopped unexpectedly).
bad_cases=(
  "address=banana|vpn.data: address" "address=10.0.0.1/33|vpn.data: address"
  "listen-port=99999|vpn.data: listen-port" "mtu=abc|vpn.data: mtu" "fwmark=zz|vpn.data: fwmark"
  "backend=bogus|vpn.data: backend" "peers=2|vpn.data: peer.1.public-key"
  "peer.0.public-key=notakey|vpn.data: peer.0.public-key"
  "peer.0.allowed-ips=10.0.0.0/33|vpn.data: peer.0.allowed-ips"
  "peer.0.endpoint=[::1|vpn.data: peer.0.endpoint"
  "peer.0.persistent-keepalive=70000|vpn.data: peer.0.persistent-keepalive"
  "table=no-such-table|no-such-table"  # a name is looked up at bring-up, as wg-quick does
  "listen-prot=51820|vpn.data: listen-prot"  # a typo: NM stores it, the service names it
)
for c in "${bad_cases[@]}"; do
  setting="${c%%|*}" want="${c##*|}"
  nmc connection clone wg0 wgbad >/dev/null || fail "clone wg0"
  nmc connection modify wgbad +vpn.data "$setting" || fail "modify wgbad +vpn.data ${setting}"
  mark="$(wc -l <"$NM_WORK/log/nm.log")"
  out="$(nmc connection up wgbad 2>&1)" && fail "wgbad came up with ${setting}"
  grep -q "The VPN service failed to start" <<<"$out" ||
    fail "${setting}: nmcli says '${out}', not 'The VPN service failed to start' (the error reply was lost?)"
  why="$(tail -n +"$((mark + 1))" "$NM_WORK/log/nm.log" | grep -o "nm-wgcore-service: 'wgbad': .*" | head -n 1)"
  printf '%-42s -> %s\n' "$setting" "${why:-<no reason in the log>}"
  grep -qF "$want" <<<"$why" || fail "${setting}: NM's log does not say '${want}'"
  nmc connection delete wgbad >/dev/null || fail "delete wgbad"
done
wait_for 5 nm_settled_to "$baseline" ||
  fail "left behind after the invalid profiles: $(diff <(printf '%s\n' "$baseline") <(nm_state))"
pass "${#bad_cases[@]} invalid profiles: each fails to start with its reason in NM's log, none 'stopped unexpectedly'"

# --- the interface deleted under the service: NM is told, and everything goes -----------------
nmc connection up wg0 >/dev/null || fail "wg0 up (third time)"
ip -n "$NS_NM" link del wg0 || fail "ip link del wg0"
wait_for 5 nm_inactive wg0 || fail "NM still shows wg0 active after its interface was deleted"
grep -q "nm-wgcore-service: interface wg0 disappeared" "$NM_WORK/log/nm.log" || fail "the service did not report the vanished interface"
wait_for 5 nm_settled_to "$baseline" ||
  fail "left behind after ip link del: $(diff <(printf '%s\n' "$baseline") <(nm_state))"
pass "interface deleted from outside: the service reports it, NM deactivates, nothing left"
grep -E 'nm-wgcore-service' "$NM_WORK/log/nm.log" | tail -n 8

# --- the service and its cleanup guard both killed: the next up still comes up on wg0 ---------
# SIGKILL to both leaves the UAPI socket (nobody cleans it); nobody listens on it, so it must
# not hold the name (it did: the next up came up on wgc0).
nmc connection up wg0 >/dev/null || fail "wg0 up (fourth time)"
sock="$NM_WORK/run-nm/wireguard/wg0.sock"
[[ -S "$sock" ]] || fail "no UAPI socket at ${sock} while wg0 is up"
pids="$(nm_service_pids)"
[[ -n "$pids" ]] || fail "no service process to kill"
for p in $pids; do echo "killing ${NM_SERVICE##*/} PID ${p} with SIGKILL"; kill -KILL "$p"; done
wait_for 10 nm_inactive wg0 || fail "NM still shows wg0 active after the kill"
wait_for 5 nm_no_service || fail "processes left after SIGKILL: $(nm_service_pids)"
[[ -S "$sock" ]] || fail "the killed service's socket is gone: this test no longer tests a stale socket"
nmc connection up wg0 >/dev/null || fail "wg0 up after the kill"
ip -n "$NS_NM" link show wg0 >/dev/null 2>&1 || fail "after the kill the tunnel came up as $(ip -n "$NS_NM" -o link show | awk '{ print $2 }' | grep wgc | tr -d :) instead of wg0"
ns_exec "$NS_NM" ping -c 2 -W 2 203.0.113.2 >/dev/null || fail "no ping through wg0 after the kill"
nsenter -t "$NM_PID" -m -n wg show wg0 >/dev/null || fail "wg show wg0 (the new socket) fails"
nmc connection down wg0 >/dev/null || fail "wg0 down after the kill"
wait_for 5 nm_settled_to "$baseline" ||
  fail "left behind after the kill and re-up: $(diff <(printf '%s\n' "$baseline") <(nm_state))"
[[ ! -e "$sock" ]] || fail "socket left after down"
pass "service and guard killed: the stale socket is removed and the tunnel comes back on wg0"

