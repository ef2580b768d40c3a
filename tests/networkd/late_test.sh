#!/bin/bash
# wgcore-networkd started after systemd-networkd already loaded the .netdev (the unit orders
# it before networkd; this is a late install or a manual start): networkd refuses the TUN link
# ("Received newlink with wrong KIND") and never forgets a loaded netdev, so the helper says so
# plainly, and restarting networkd once (the documented remedy) gets the link configured.
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
wait_for 20 grep -q 'wgl0: systemd-networkd does not manage the link; it probably loaded /etc/systemd/network/50-wgl0.netdev before wgcore-networkd started. Restart systemd-networkd once.' \
  "${WGC_TEST_DIR}/helper.log" || fail "no clear warning about networkd ignoring the link"
nd_configured wgl0 && fail "networkd configured the link (expected it to refuse it)"
pass "late start: the helper explains why networkd ignores the link"

nd_restart_networkd
wait_for 15 nd_configured wgl0 || fail "wgl0 not configured after restarting networkd"
grep -q '50-wgl0.netdev: Conditions in the file do not match' "${WGC_TEST_DIR}/networkd2.log" ||
  fail "restarted networkd did not skip the netdev"
pass "after restarting networkd once, wgl0 is configured"
