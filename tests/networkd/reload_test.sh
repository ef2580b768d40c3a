#!/bin/bash
# Reload (SIGHUP, what `systemctl reload wgcore-networkd` sends) applies only the differences:
# adding a peer through a drop-in leaves the first peer's session alone (its last handshake time
# is unchanged and traffic flows without a new handshake), removing it again does too, and a
# new .netdev file brings up a new device while a removed one is torn down. networkd's own
# reload drops or ignores peers (systemd #25547, #38196); ours must not.
set -euo pipefail
source "${WGCORE_SOURCE_ROOT}/tests/networkd/lib.sh"

nd_init
nd_two_peers wgr0

cat >"${ND_ETC}/50-wgr0.netdev" <<NETDEV
[NetDev]
Name=wgr0
Kind=wireguard

[WireGuard]
PrivateKey=$(gen_key wgr0)
ListenPort=51820

[WireGuardPeer]
PublicKey=$(pub_key "$PA")
AllowedIPs=203.0.113.2/32
Endpoint=198.51.100.2:51821
NETDEV
printf '[Match]\nName=wgr0\n\n[Network]\nAddress=203.0.113.1/24\nLinkLocalAddressing=no\n' \
  >"${ND_ETC}/50-wgr0.network"

nd_start wgr0
wait_for 20 nd_configured wgr0 || fail "networkd did not configure wgr0"
wait_for 10 ns_exec "$NS_ND" ping -c1 -W1 203.0.113.2 || fail "no ping to peer A"
hs1="$(latest_handshake wgr0 "$(pub_key "$PA")")"
[[ "${hs1:-0}" -gt 0 ]] || fail "no handshake with peer A"
pass "peer A up, handshake at ${hs1}"
sleep 1.2  # a new handshake would now carry a later time

mkdir -p "${ND_ETC}/50-wgr0.netdev.d"
cat >"${ND_ETC}/50-wgr0.netdev.d/20-peer-b.conf" <<DROPIN
[WireGuardPeer]
PublicKey=$(pub_key "$PB")
AllowedIPs=203.0.113.3/32
Endpoint=198.51.100.18:51822
DROPIN
nd_reload_helper
grep -q 'wgr0: applied changes from /etc/systemd/network/50-wgr0.netdev (1 peer changes)' \
  "${WGC_TEST_DIR}/helper.log" || fail "reload did not apply exactly one peer change"
wait_for 10 ns_exec "$NS_ND" ping -c1 -W1 203.0.113.3 || fail "no ping to peer B added by reload"
[[ "$(ndx wg show wgr0 peers | wc -l)" -eq 2 ]] || fail "expected 2 peers after reload"
ns_exec "$NS_ND" ping -c1 -W1 203.0.113.2 >/dev/null || fail "peer A unreachable after reload"
hs2="$(latest_handshake wgr0 "$(pub_key "$PA")")"
[[ "$hs2" == "$hs1" ]] || fail "peer A's session was reset by the reload (handshake ${hs1} -> ${hs2})"
grep -q '^RELOADING=1 | MONOTONIC_USEC=[0-9]*$' "${WGC_TEST_DIR}/notify.txt" || fail "no RELOADING=1 notification"
pass "reload added peer B; peer A kept its handshake (${hs2})"

rm -r "${ND_ETC}/50-wgr0.netdev.d"
nd_reload_helper
[[ "$(ndx wg show wgr0 peers | wc -l)" -eq 1 ]] || fail "peer B not removed by reload"
ns_exec "$NS_ND" ping -c1 -W1 203.0.113.2 >/dev/null || fail "peer A unreachable after second reload"
hs3="$(latest_handshake wgr0 "$(pub_key "$PA")")"
[[ "$hs3" == "$hs1" ]] || fail "peer A's session was reset when peer B was removed"
pass "reload removed peer B; peer A kept its handshake"

# A broken edit (the private key cleared by a drop-in) is reported and the running device kept.
mkdir -p "${ND_ETC}/50-wgr0.netdev.d"
printf '[WireGuard]\nPrivateKey=\n' >"${ND_ETC}/50-wgr0.netdev.d/30-broken.conf"
nd_reload_helper
grep -q 'wgr0: /etc/systemd/network/50-wgr0.netdev no longer loads (see above); keeping the running configuration' \
  "${WGC_TEST_DIR}/helper.log" || fail "broken edit not reported"
ns_exec "$NS_ND" ping -c1 -W1 203.0.113.2 >/dev/null || fail "broken edit took the tunnel down"
rm -r "${ND_ETC}/50-wgr0.netdev.d"
nd_reload_helper
pass "a broken edit keeps the running configuration"

# New, renamed and removed netdev files.
printf '[NetDev]\nName=wgr1\nKind=wireguard\n[WireGuard]\nPrivateKey=%s\n' "$(gen_key wgr1)" \
  >"${ND_ETC}/60-wgr1.netdev"
nd_reload_helper
ns_exec "$NS_ND" ip link show dev wgr1 >/dev/null || fail "new netdev file: wgr1 not created on reload"
sed -i 's/^Name=wgr1$/Name=wgr2/' "${ND_ETC}/60-wgr1.netdev"
nd_reload_helper
ns_exec "$NS_ND" ip link show dev wgr2 >/dev/null || fail "renamed netdev: wgr2 not created"
ns_exec "$NS_ND" ip link show dev wgr1 >/dev/null 2>&1 && fail "renamed netdev: wgr1 still there"
rm "${ND_ETC}/60-wgr1.netdev"
nd_reload_helper
ns_exec "$NS_ND" ip link show dev wgr2 >/dev/null 2>&1 && fail "removed netdev file: wgr2 still there"
[[ -e "${ND_DIR}/run/systemd/network/60-wgr1.netdev.d" ]] && fail "hide drop-in of the removed netdev left behind"
hs4="$(latest_handshake wgr0 "$(pub_key "$PA")")"
[[ "$hs4" == "$hs1" ]] || fail "peer A's session was reset by other netdevs' changes"
nd_configured wgr0 || fail "wgr0 no longer configured by networkd after the reloads"
pass "reload creates new netdevs and removes deleted ones, leaving wgr0 alone"

# networkd's own reload re-reads the netdevs too: it must still skip ours and keep the link.
ndx networkctl reload || fail "networkctl reload failed"
sleep 1
wait_for 10 nd_configured wgr0 || fail "wgr0 not configured after networkctl reload"
grep -q 'wrong KIND' "${WGC_TEST_DIR}/networkd.log" && fail "networkd refused the link after its reload"
ns_exec "$NS_ND" ping -c1 -W1 203.0.113.2 >/dev/null || fail "no ping after networkctl reload"
[[ "$(latest_handshake wgr0 "$(pub_key "$PA")")" == "$hs1" ]] || fail "networkctl reload reset peer A's session"
pass "networkctl reload leaves the wgcore-managed link configured and its sessions alone"
