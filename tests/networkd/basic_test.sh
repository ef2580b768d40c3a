#!/bin/bash
# A .netdev (Kind=wireguard, PrivateKeyFile=, one peer with PresharedKeyFile= and an IPv6
# [address]:port endpoint, RouteTable=) + .network (Address=):
# wgcore-networkd creates the interface on the userspace datapath, systemd-networkd 252 matches
# it with the .network and reports it configured, a ping crosses to a wireguard-go peer in
# another namespace, the AllowedIPs route is in place, and stopping the helper removes it all.
set -euo pipefail
source "${WGCORE_SOURCE_ROOT}/tests/networkd/lib.sh"

nd_init
NS_P="$(ns_create peer)"
ns_veth "$NS_ND" veth0 "$NS_P" veth0 198.51.100.1/24 198.51.100.2/24
ns_addr "$NS_ND" veth0 2001:db8:1::1/64
ns_addr "$NS_P" veth0 2001:db8:1::2/64
PEER="wgp$$"
peer_go "$NS_P" "$PEER" 51821 203.0.113.2/24
(umask 077 && wg genpsk >"${ND_ETC}/wgn0.psk")

gen_key wgn0 >"${ND_ETC}/wgn0.key"
chmod 0640 "${ND_ETC}/wgn0.key"
cat >"${ND_ETC}/50-wgn0.netdev" <<NETDEV
[NetDev]
Name=wgn0
Kind=wireguard
Description=wgcore-managed tunnel
MTUBytes=1400

[WireGuard]
PrivateKeyFile=/etc/systemd/network/wgn0.key
ListenPort=51820
RouteTable=main

[WireGuardPeer]
PublicKey=$(pub_key "$PEER")
AllowedIPs=203.0.113.2/32
AllowedIPs=198.18.5.0/24
Endpoint=[2001:db8:1::2]:51821
PresharedKeyFile=/etc/systemd/network/wgn0.psk
NETDEV
cat >"${ND_ETC}/50-wgn0.network" <<'NETWORK'
[Match]
Name=wgn0

[Network]
Address=203.0.113.1/24
LinkLocalAddressing=no
IPv6AcceptRA=no
NETWORK
ns_exec "$NS_P" wg set "$PEER" peer "$(pub_key wgn0)" allowed-ips 203.0.113.1/32 \
  preshared-key "${ND_ETC}/wgn0.psk"

nd_start wgn0

# networkd skipped the netdev (our /run drop-in) instead of refusing the TUN link.
wait_for 10 grep -q '50-wgn0.netdev: Conditions in the file do not match the system environment, skipping.' \
  "${WGC_TEST_DIR}/networkd.log" || fail "networkd did not skip the netdev the helper serves"
wait_for 20 nd_configured wgn0 || { ndx networkctl status wgn0 || true; fail "networkd did not configure wgn0"; }
grep -q 'wrong KIND' "${WGC_TEST_DIR}/networkd.log" && fail "networkd refused the link (kind mismatch)"
pass "networkd reports wgn0 configured"

echo "--- networkctl status wgn0"
ndx networkctl status wgn0 | tee "${WGC_TEST_DIR}/networkctl-status.txt"
echo "---"
grep -q 'Network File: /etc/systemd/network/50-wgn0.network' "${WGC_TEST_DIR}/networkctl-status.txt" ||
  fail "wgn0 not matched with 50-wgn0.network"
grep -q 'Address: 203.0.113.1' "${WGC_TEST_DIR}/networkctl-status.txt" || fail "networkd did not apply Address="
ns_exec "$NS_ND" ip link show dev wgn0 | grepq 'mtu 1400' || fail "MTUBytes=1400 not applied"

wait_for 10 ns_exec "$NS_ND" ping -c1 -W1 203.0.113.2 || fail "no ping through the tunnel"
pass "ping crosses to the wireguard-go peer (IPv6 outer, preshared key)"
hs="$(latest_handshake wgn0 "$(pub_key "$PEER")")"
[[ "${hs:-0}" -gt 0 ]] || fail "no handshake recorded in 'wg show wgn0' (UAPI)"
ndx wg show wgn0 listen-port | grepq -x 51820 || fail "ListenPort=51820 not applied"
ndx wg show wgn0 endpoints | grepq '\[2001:db8:1::2\]:51821' || fail "IPv6 endpoint not used"
[[ "$(ndx wg show wgn0 preshared-keys | awk '{print $2}')" == "$(cat "${ND_ETC}/wgn0.psk")" ]] ||
  fail "PresharedKeyFile= not applied"

# RouteTable=main: networkd's route for each AllowedIPs prefix (proto static), by the helper.
wait_for 10 sh -c "ip -n '$NS_ND' route show 198.18.5.0/24 | grep -q 'dev wgn0 proto static'" ||
  fail "no route for AllowedIPs 198.18.5.0/24 in table main: $(ip -n "$NS_ND" route)"
pass "AllowedIPs routes in table main"

ndx "$WGCORE_NETWORKD" status >"${WGC_TEST_DIR}/status.txt" || fail "status failed: $(cat "${WGC_TEST_DIR}/status.txt")"
cat "${WGC_TEST_DIR}/status.txt"
grep -q 'networkd: configured (operational: routable' "${WGC_TEST_DIR}/status.txt" || fail "status lacks networkd state"
grep -q 'backend: userspace' "${WGC_TEST_DIR}/status.txt" || fail "status lacks the backend"
ndx "$WGCORE_NETWORKD" status --json | grepq '"administrative_state":"configured"' || fail "status --json"
wait_for 10 grep -q 'wgn0: asked systemd-networkd to reconfigure the link' "${WGC_TEST_DIR}/helper.log" ||
  fail "helper did not call ReconfigureLink"
pass "wgcore-networkd status reads networkd's link state over sd-bus"

# `networkctl reconfigure` drops the RouteTable= routes (networkd takes them for its own, proto
# static); the helper puts them back on the route's deletion event, not at a poll. Sampled every
# 10 ms for 3 s: the longest absence must stay far below the helper's 1 s check.
ndx networkctl reconfigure wgn0 || fail "networkctl reconfigure wgn0"
gap="$(python3 - "$NS_ND" <<'PY'
import subprocess, sys, time
ns, longest, since, t_end = sys.argv[1], 0.0, None, time.monotonic() + 3
while time.monotonic() < t_end:
    out = subprocess.run(["ip", "-n", ns, "route", "show", "198.18.5.0/24"], capture_output=True, text=True).stdout
    now = time.monotonic()
    if "dev wgn0" in out:
        if since is not None: longest = max(longest, now - since)
        since = None
    elif since is None:
        since = now
    time.sleep(0.01)
if since is not None: longest = 99
print(f"{longest:.3f}")
PY
)"
echo "longest absence of 198.18.5.0/24 after networkctl reconfigure: ${gap} s"
awk -v g="$gap" 'BEGIN { exit !(g < 0.5) }' || fail "the route was gone for ${gap} s after networkctl reconfigure (restored by polling?)"
wait_for 10 nd_configured wgn0 || fail "networkd did not configure wgn0 again"
pass "networkctl reconfigure: the AllowedIPs route back within ${gap} s (on the route event)"

# Type=notify: READY=1 with STATUS=, WATCHDOG=1 at half of WATCHDOG_USEC (2 s here).
grep -q '^READY=1 | STATUS=Serving 1 of 1 WireGuard netdev(s), 1 peer(s)$' "${WGC_TEST_DIR}/notify.txt" ||
  fail "no READY=1/STATUS= notification: $(cat "${WGC_TEST_DIR}/notify.txt")"
wait_for 3 grep -q '^WATCHDOG=1$' "${WGC_TEST_DIR}/notify.txt" || fail "no WATCHDOG=1 keep-alive"
pass "sd_notify: READY=1, STATUS=, WATCHDOG=1"

# SIGTERM: the device and our routes go away.
kill -TERM "$(helper_pid)"
wait_for 5 sh -c "! ip -n '$NS_ND' link show dev wgn0" || fail "wgn0 still exists after the helper stopped"
ip -n "$NS_ND" route show 198.18.5.0/24 | grepq . && fail "route left behind"
grep -q '^STOPPING=1' "${WGC_TEST_DIR}/notify.txt" || fail "no STOPPING=1"
pass "stopping the helper removes the device and its routes"
