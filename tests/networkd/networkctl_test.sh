#!/bin/bash
# What administrators type: a .netdev file written, edited or removed, then `networkctl reload`,
# and nothing else (no `systemctl reload wgcore-networkd`). Each time the tunnel follows:
#   new file + networkctl reload     -> wgc1 exists, networkd configures it, the peer answers;
#   edited file + networkctl reload  -> the new setting (a second peer) is live, the first peer's
#                                       session untouched;
#   removed file + networkctl reload -> wgc1 is gone, and its hide drop-in with it.
# networkd must never give up on the link (no "wrong KIND" in its log).
set -euo pipefail
source "${WGCORE_SOURCE_ROOT}/tests/networkd/lib.sh"

nd_init
nd_two_peers wgc1
nd_start

netdev() { # the .netdev of wgc1 with the given peers (a, b)
  printf '[NetDev]\nName=wgc1\nKind=wireguard\n\n[WireGuard]\nPrivateKey=%s\nListenPort=51820\n' "$(gen_key wgc1)"
  local p
  for p in "$@"; do
    case "$p" in
      a) printf '\n[WireGuardPeer]\nPublicKey=%s\nAllowedIPs=203.0.113.2/32\nEndpoint=198.51.100.2:51821\n' "$(pub_key "$PA")" ;;
      b) printf '\n[WireGuardPeer]\nPublicKey=%s\nAllowedIPs=203.0.113.3/32\nEndpoint=198.51.100.18:51822\n' "$(pub_key "$PB")" ;;
    esac
  done
}

# --- a new file ---------------------------------------------------------------------------------
printf '[Match]\nName=wgc1\n\n[Network]\nAddress=203.0.113.1/24\nLinkLocalAddressing=no\n' >"${ND_ETC}/50-wgc1.network"
netdev a >"${ND_ETC}/50-wgc1.netdev"
chgrp systemd-network "${ND_ETC}/50-wgc1.netdev" && chmod 640 "${ND_ETC}/50-wgc1.netdev"  # as systemd.netdev(5) advises
ndx networkctl reload || fail "networkctl reload"
wait_for 20 nd_configured wgc1 || { ndx networkctl list; fail "new file + networkctl reload: wgc1 not configured"; }
wait_for 10 ns_exec "$NS_ND" ping -c1 -W1 203.0.113.2 || fail "new file: no ping to peer A"
hs1="$(latest_handshake wgc1 "$(pub_key "$PA")")"
pass "new .netdev + networkctl reload: wgc1 created, configured by networkd, peer A answers"
sleep 1.2

# --- the file edited ----------------------------------------------------------------------------
netdev a b >"${ND_ETC}/50-wgc1.netdev"
ndx networkctl reload || fail "networkctl reload"
wait_for 10 ns_exec "$NS_ND" ping -c1 -W1 203.0.113.3 || fail "edited file + networkctl reload: no ping to the new peer B"
[[ "$(latest_handshake wgc1 "$(pub_key "$PA")")" == "$hs1" ]] || fail "the edit reset peer A's session"
nd_configured wgc1 || fail "wgc1 no longer configured after the edit"
pass "edited .netdev + networkctl reload: peer B live, peer A's session untouched"

# --- the file removed ---------------------------------------------------------------------------
rm "${ND_ETC}/50-wgc1.netdev"
ndx networkctl reload || fail "networkctl reload"
wait_for 10 not ns_exec "$NS_ND" ip link show dev wgc1 || fail "removed file + networkctl reload: wgc1 still there"
wait_for 5 not test -e "${ND_DIR}/run/systemd/network/50-wgc1.netdev.d" || fail "hide drop-in left behind"
pass "removed .netdev + networkctl reload: wgc1 gone"

# networkd usually reads the new file before the helper has hidden it (the reload follows the
# write at once): it tries to create the netdev, fails, and refuses our link. The helper then
# makes it let go (above: configured all the same); the log says which way it went.
if grep -q 'wgc1: .*wrong KIND' "${WGC_TEST_DIR}/networkd.log"; then
  grep -q "wgc1: systemd-networkd read .* before it was hidden" "${WGC_TEST_DIR}/helper.log" ||
    fail "networkd refused wgc1 and the helper did not say how it recovered"
  pass "networkd read the new file first and refused the link; the helper made it let go"
else
  pass "the helper hid the new file before networkd read it"
fi
! grep -q 'Restart systemd-networkd' "${WGC_TEST_DIR}/helper.log" || fail "the helper asked for a networkd restart"
