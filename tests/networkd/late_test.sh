#!/bin/bash
# wgcore-networkd started after systemd-networkd already loaded the .netdev (the unit orders
# it before networkd; this is a late install or a manual start): networkd tried to create the
# netdev itself, failed, and refuses the TUN link ("Received newlink with wrong KIND"). The
# helper has networkd read its files again (now hidden) and re-creates the link once, which
# makes networkd drop its failed netdev: the link is configured with no restart of networkd.
set -euo pipefail
source "${WGCORE_SOURCE_ROOT}/tests/networkd/lib.sh"

nd_init
printf '[NetDev]\nName=wgl0\nKind=wireguard\n[WireGuard]\nPrivateKey=%s\n' "$(gen_key wgl0)" \
  >"${ND_ETC}/50-wgl0.netdev"
printf '[Match]\nName=wgl0\n[Network]\nAddress=203.0.113.1/24\nLinkLocalAddressing=no\n' \
  >"${ND_ETC}/50-wgl0.network"

ND_HELPER_FIRST=0 nd_start
wait_for 10 grep -q 'wgl0: netdev could not be created' "${WGC_TEST_DIR}/networkd.log" ||
  fail "networkd did not try the netdev itself (expected without the kernel module)"
nd_start_helper_late
wait_for 20 nd_configured wgl0 || { ndx networkctl list; fail "wgl0 not configured after the late start"; }
grep -q 'wgl0: systemd-networkd read /etc/systemd/network/50-wgl0.netdev before it was hidden' "${WGC_TEST_DIR}/helper.log" ||
  fail "the helper did not say why it re-created the link"
grep -q 'wgl0: netdev removed' "${WGC_TEST_DIR}/networkd.log" || fail "networkd did not drop its failed netdev"
! grep -q 'Restart systemd-networkd' "${WGC_TEST_DIR}/helper.log" || fail "the helper still asks for a networkd restart"
pass "late start: networkd let go of the netdev it had failed to create; wgl0 configured without a restart"

# And a restart of networkd later changes nothing: it skips the hidden netdev from the start.
nd_restart_networkd
wait_for 15 nd_configured wgl0 || fail "wgl0 not configured after restarting networkd"
grep -q '50-wgl0.netdev: Conditions in the file do not match' "${WGC_TEST_DIR}/networkd2.log" ||
  fail "restarted networkd did not skip the netdev"
pass "after a restart of networkd, wgl0 is configured again"
