#!/bin/bash
# The search path as networkd reads it: a drop-in overrides a key (a same-named drop-in in /etc
# shadows the /usr/lib one), a file in /etc replaces the /usr/lib one of the same name, a
# /dev/null symlink in /etc or an empty file in /run masks it. Malformed files (bad key length,
# unknown section, a peer without PublicKey) give networkd's messages with file:line and key,
# and every other device still comes up and is configured by networkd.
set -euo pipefail
source "${WGCORE_SOURCE_ROOT}/tests/networkd/lib.sh"

nd_init
K="$(gen_key nd)"
P1="$(pub_key p1)"
P2="$(pub_key p2)"
netdev() {  # netdev NAME [EXTRA-LINES...]
  printf '[NetDev]\nName=%s\nKind=wireguard\n\n[WireGuard]\nPrivateKey=%s\n' "$1" "$K"
  shift
  printf '%s\n' "$@"
}

# Drop-ins: /usr/lib main file, same-named drop-in in /usr/lib (3333) and /etc (2222).
netdev wgd1 ListenPort=1111 >"${ND_USR}/60-wgd.netdev"
mkdir -p "${ND_USR}/60-wgd.netdev.d" "${ND_ETC}/60-wgd.netdev.d"
printf '[WireGuard]\nListenPort=3333\n' >"${ND_USR}/60-wgd.netdev.d/10-port.conf"
printf '[WireGuard]\nListenPort=2222\n' >"${ND_ETC}/60-wgd.netdev.d/10-port.conf"
printf '[NetDev]\nMTUBytes=1300\n' >"${ND_USR}/60-wgd.netdev.d/20-mtu.conf"
# Masking: /dev/null symlink in /etc, empty file in /run.
netdev wgm1 >"${ND_USR}/70-wgm.netdev"
ln -s /dev/null "${ND_ETC}/70-wgm.netdev"
netdev wge1 >"${ND_USR}/75-wge.netdev"
mkdir -p "${ND_DIR}/run/systemd/network"
: >"${ND_DIR}/run/systemd/network/75-wge.netdev"
# Same name in /etc replaces /usr/local/lib.
netdev wgo1 ListenPort=3000 >"${ND_USRLOCAL}/80-wgo.netdev"
netdev wgo1 ListenPort=4000 >"${ND_ETC}/80-wgo.netdev"
# Malformed.
printf '[NetDev]\nName=wgbad1\nKind=wireguard\n\n[WireGuard]\nPrivateKey=AAAA\n' >"${ND_ETC}/10-badkey.netdev"
netdev wgu1 'Foo=bar' '' '[Tunnel]' 'Remote=198.51.100.9' >"${ND_ETC}/20-unknown.netdev"
netdev wgnp1 '' '[WireGuardPeer]' 'AllowedIPs=198.18.1.0/24' '' '[WireGuardPeer]' "PublicKey=${P1}" \
  'AllowedIPs=198.18.2.0/24' '' '[WireGuardPeer]' "PublicKey=${P2}" 'AllowedIPs=198.18.300.0/24' \
  >"${ND_ETC}/30-nopub.netdev"
cat >"${ND_ETC}/90-all.network" <<'NETWORK'
[Match]
Name=wgd1 wgo1 wgu1 wgnp1

[Network]
LinkLocalAddressing=no
IPv6AcceptRA=no
NETWORK

nd_start wgd1 wgo1 wgu1 wgnp1
LOG="${WGC_TEST_DIR}/helper.log"
E=/etc/systemd/network
expect_log() { grep -qF -- "$1" "$LOG" || fail "helper log lacks: $1"; }
expect_log "${E}/10-badkey.netdev:6: Wireguard key provided by PrivateKey= has invalid length (3 bytes), ignoring assignment."
expect_log "wgbad1: ${E}/10-badkey.netdev: Missing PrivateKey= or PrivateKeyFile=, Ignoring network device."
expect_log "${E}/20-unknown.netdev:7: Unknown key name 'Foo' in section 'WireGuard', ignoring."
expect_log "${E}/20-unknown.netdev:9: Unknown section 'Tunnel'. Ignoring."
expect_log "wgnp1: ${E}/30-nopub.netdev: WireGuardPeer section without PublicKey= configured. Ignoring [WireGuardPeer] section from line 8."
expect_log "${E}/30-nopub.netdev:17: Network address is invalid, ignoring assignment: 198.18.300.0/24"
pass "malformed files: networkd's messages with file:line and key"

ns_exec "$NS_ND" ip link show dev wgbad1 >/dev/null 2>&1 && fail "wgbad1 was created without a private key"
ndx wg show wgu1 >/dev/null || fail "wgu1 (only warnings) not served"
[[ "$(ndx wg show wgnp1 peers | wc -l)" -eq 2 ]] || fail "wgnp1 should keep its 2 peers with PublicKey="
for i in wgd1 wgo1 wgu1 wgnp1; do
  wait_for 15 nd_configured "$i" || { ndx networkctl list; fail "networkd did not configure ${i}"; }
done
grep -q 'wrong KIND' "${WGC_TEST_DIR}/networkd.log" && fail "networkd refused one of our links"
grep -q '10-badkey.netdev: Conditions in the file do not match' "${WGC_TEST_DIR}/networkd.log" ||
  fail "networkd was not kept from creating the broken netdev itself"
pass "other devices unaffected: created and configured by networkd"

[[ "$(ndx wg show wgd1 listen-port)" == 2222 ]] || fail "drop-in in /etc did not override ListenPort (got $(ndx wg show wgd1 listen-port))"
ns_exec "$NS_ND" ip link show dev wgd1 | grepq 'mtu 1300' || fail "drop-in MTUBytes=1300 not applied"
pass "drop-ins: /etc shadows the same-named /usr/lib drop-in; others merge"
[[ "$(ndx wg show wgo1 listen-port)" == 4000 ]] || fail "/etc file did not replace the /usr/local/lib one"
ns_exec "$NS_ND" ip link show dev wgm1 >/dev/null 2>&1 && fail "wgm1 created though masked by /dev/null in /etc"
ns_exec "$NS_ND" ip link show dev wge1 >/dev/null 2>&1 && fail "wge1 created though masked by an empty file in /run"
pass "same-name precedence and masking"

# `check` prints the same diagnostics and exits 1 on errors.
set +e
ndx "$WGCORE_NETWORKD" check >"${WGC_TEST_DIR}/check.txt" 2>&1
rc=$?
set -e
[[ $rc -eq 1 ]] || fail "check exited ${rc}, expected 1"
grep -qF "wgbad1: ${E}/10-badkey.netdev: Missing PrivateKey=" "${WGC_TEST_DIR}/check.txt" || fail "check output"
grep -qF "wgd1: /usr/lib/systemd/network/60-wgd.netdev: ok" "${WGC_TEST_DIR}/check.txt" || fail "check: wgd1 not ok"
# wgnp1 lost a peer to an error: served, but not "ok".
grep -qF "wgnp1: ${E}/30-nopub.netdev: 1 error(s) above; served without what they name (2 peer(s))" \
  "${WGC_TEST_DIR}/check.txt" || fail "check: wgnp1 not reported with its error: $(grep wgnp1 "${WGC_TEST_DIR}/check.txt")"
grep -q "wgnp1: .*: ok" "${WGC_TEST_DIR}/check.txt" && fail "check calls wgnp1 ok although it lost a peer"
grep -qx "wgcore-networkd: [0-9]* error(s)" "${WGC_TEST_DIR}/check.txt" || fail "check: no error count"
# Nothing to check is said, and is not success.
mkdir -p "${WGC_TEST_DIR}/empty"
set +e
"$WGCORE_NETWORKD" check --root "${WGC_TEST_DIR}/empty" >"${WGC_TEST_DIR}/check-empty.txt" 2>&1
rc=$?
set -e
cat "${WGC_TEST_DIR}/check-empty.txt"
[[ $rc -eq 1 ]] || fail "check on an empty directory exited ${rc}, expected 1"
grep -qF "no .netdev with Kind=wireguard" "${WGC_TEST_DIR}/check-empty.txt" || fail "check on an empty directory said nothing"
pass "check reports errors, the netdevs they touch, the good netdevs, and an empty search path"
