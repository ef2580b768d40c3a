#!/bin/bash
# Endpoint= with a hostname: while it does not resolve, the helper says so (file:line, key) and
# retries; once it resolves the tunnel comes up; when the name later points elsewhere, the
# periodic re-resolution moves the endpoint (getaddrinfo shows no TTL: a fixed interval, here
# 2 s via --reresolve). Names come from a private /etc/hosts.
set -euo pipefail
source "${WGCORE_SOURCE_ROOT}/tests/networkd/lib.sh"

nd_init
NS_P="$(ns_create peer)"
ns_veth "$NS_ND" veth0 "$NS_P" veth0 198.51.100.1/24 198.51.100.2/24
ns_addr "$NS_P" veth0 198.51.100.3/24
PEER="wgp$$"
peer_go "$NS_P" "$PEER" 51821 203.0.113.2/24
ns_exec "$NS_P" wg set "$PEER" peer "$(pub_key wgh0)" allowed-ips 203.0.113.1/32
printf '127.0.0.1 localhost\n' >"${ND_DIR}/hosts"

cat >"${ND_ETC}/50-wgh0.netdev" <<NETDEV
[NetDev]
Name=wgh0
Kind=wireguard

[WireGuard]
PrivateKey=$(gen_key wgh0)

[WireGuardPeer]
PublicKey=$(pub_key "$PEER")
AllowedIPs=203.0.113.2/32
Endpoint=peer-a.test:51821
PersistentKeepalive=1
NETDEV
printf '[Match]\nName=wgh0\n\n[Network]\nAddress=203.0.113.1/24\nLinkLocalAddressing=no\n' \
  >"${ND_ETC}/50-wgh0.network"

export ND_RERESOLVE=2 ND_RETRY=1
nd_start wgh0
grep -qE "wgh0: /etc/systemd/network/50-wgh0.netdev:8: Endpoint=peer-a.test:51821: Failed to resolve 'peer-a.test'.*retrying in 1s" \
  "${WGC_TEST_DIR}/helper.log" || fail "no resolution failure message naming file:line and key"
pass "unresolvable endpoint reported with file:line and retried"

# In place (the bind mount follows the inode).
printf '127.0.0.1 localhost\n198.51.100.2 peer-a.test\n' >"${ND_DIR}/hosts"
wait_for 10 ns_exec "$NS_ND" ping -c1 -W1 203.0.113.2 || fail "tunnel did not come up after the name resolved"
ndx wg show wgh0 endpoints | grepq '198.51.100.2:51821' || fail "endpoint not 198.51.100.2"
pass "endpoint resolved on retry, tunnel up"

printf '127.0.0.1 localhost\n198.51.100.3 peer-a.test\n' >"${ND_DIR}/hosts"
wait_for 10 grep -q 'wgh0: endpoint resolution changed for 1 peer(s)' "${WGC_TEST_DIR}/helper.log" ||
  fail "re-resolution did not notice the new address"
wait_for 5 sh -c "nsenter -t $ND_PID -m -n wg show wgh0 endpoints | grep -q 198.51.100.3:51821" ||
  fail "endpoint not moved to 198.51.100.3"
wait_for 5 ns_exec "$NS_ND" ping -c1 -W1 203.0.113.2 || fail "no ping after the endpoint moved"
pass "periodic re-resolution moved the endpoint"
