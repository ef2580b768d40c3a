#!/bin/bash
# frr suite: restarts converge. zebra (with bgpd) restarted at site A (its FPM replay is swept: a route B
# withdrew meanwhile leaves AllowedIPs, the rest stays without a flap); frr-wgd restarted at A
# (its previous imports are kept until zebra's replay confirms them; an import withdrawn while it
# was down and an export whose AllowedIP went away meanwhile are removed: nothing stale, nothing
# lost).
set -u
source "$(dirname "$0")/lib.sh"

sites_up
wait_for 10 has_allowed a b 198.18.4.0/24 || fail "198.18.4.0/24 not imported"
wait_for 10 has_allowed a c 198.18.3.0/24 || fail "198.18.3.0/24 not imported"
wait_for 10 ns_exec "${LAN[a]}" ping -c1 -W1 198.18.2.2 || fail "LAN A cannot reach LAN B"
snapshot() { ns_exec "${NS[a]}" wg show "${IFN[a]}" allowed-ips | tr '\t ' '\n\n' | grep / | sort; }
exports() { { ip -n "${NS[a]}" route show table 10 proto 252; ip -n "${NS[a]}" -6 route show proto 252; } | sort; }
before=$(snapshot)
exports_before=$(exports)
fpm_connects() { fw a show counters json | jpy 'print(d["fpm_connects"])'; }
sweeps() { fw a show counters json | jpy 'print(d["sweeps"])'; }
[[ $(fpm_connects) == 1 ]] || fail "expected one FPM connection so far, got $(fpm_connects)"

# --- zebra restart: FPM reconnect, full replay, mark-and-sweep --------------------------------
# bgpd goes down and up with zebra, as watchfrr does when zebra dies (FRR 8.4's bgpd does not
# hand its routes to a new zebra by itself). zebra first: nothing reaches FPM in between.
mark=$(wc -l <"$WGC_TEST_DIR/frr-wgd-a.log")
stop_pid "${PID_ZEBRA[a]}"
stop_pid "${PID_BGPD[a]}"
vty b 'configure terminal' 'router bgp 65002' 'address-family ipv4 unicast' 'no network 198.18.4.0/24' >/dev/null
has_allowed a b 198.18.4.0/24 || fail "import dropped while zebra is down (FPM disconnect must not flush)"
zebra_up a
bgpd_up a
connects_are() { [[ "$(fpm_connects)" == "$1" ]]; }
wait_for 20 connects_are 2 || fail "zebra did not reconnect to frr-wgd's FPM server"
sweeps_are() { [[ "$(sweeps)" == "$1" ]]; }
wait_for 20 sweeps_are 2 || fail "no sweep after zebra's replay"
want=$(grep -vxF 198.18.4.0/24 <<<"$before")
converged() { [[ "$(snapshot)" == "$want" ]]; }
wait_for 10 converged || fail "after zebra restart AllowedIPs differ: $(diff <(echo "$want") <(snapshot) | tr '\n' ' ')"
removed=$(tail -n +"$((mark + 1))" "$WGC_TEST_DIR/frr-wgd-a.log" | grep -E 'withdraw ' | grep -v 198.18.4.0/24 || true)
[[ -z "$removed" ]] || fail "the replay flapped imports: $removed"
tail -n +"$((mark + 1))" "$WGC_TEST_DIR/frr-wgd-a.log" | grepq "withdraw 198.18.4.0/24 from peer site-b" ||
  fail "the sweep did not name 198.18.4.0/24"
[[ "$(exports)" == "$exports_before" ]] || fail "exports changed across the zebra restart"
wait_for 10 ns_exec "${LAN[a]}" ping -c1 -W1 198.18.2.2 || fail "LAN B unreachable after the zebra restart"
pass "zebra restart: FPM replay swept 198.18.4.0/24 (withdrawn meanwhile), everything else kept without a flap"

# --- frr-wgd restart: state file + replay ------------------------------------------------------
vty b 'configure terminal' 'router bgp 65002' 'address-family ipv4 unicast' 'network 198.18.4.0/24' >/dev/null
wait_for 10 has_allowed a b 198.18.4.0/24 || fail "198.18.4.0/24 not imported again"
before=$(snapshot)
stop_pid "${PID_FW[a]}"
has_allowed a b 198.18.4.0/24 || fail "stopping frr-wgd removed imports (they must survive a restart)"
# While frr-wgd is down: B withdraws 198.18.4.0/24, and A's operator drops peer C's extra static.
vty b 'configure terminal' 'router bgp 65002' 'address-family ipv4 unicast' 'no network 198.18.4.0/24' >/dev/null
ns_exec "${NS[a]}" wg set "${IFN[a]}" peer "${PUB[b]}" allowed-ips "203.0.113.2/32,fd00:77::2/128,2001:db8:122::/48,198.18.2.0/24,198.18.4.0/24" ||
  fail "wg set"
mark=$(wc -l <"$WGC_TEST_DIR/frr-wgd-a.log")
fw_up a
fw_synced_again() { tail -n +"$((mark + 1))" "$WGC_TEST_DIR/frr-wgd-a.log" | grepq "in sync with the routing daemon"; }
wait_for 20 fw_synced_again || fail "restarted frr-wgd never synced"
want=$(grep -vxF -e 198.18.4.0/24 -e 198.18.22.0/24 <<<"$before")
wait_for 10 converged || fail "after frr-wgd restart AllowedIPs differ: $(diff <(echo "$want") <(snapshot) | tr '\n' ' ')"
tail -n +"$((mark + 1))" "$WGC_TEST_DIR/frr-wgd-a.log" | grepq "remove 198.18.4.0/24 from peer site-b: imported by an earlier run" ||
  fail "the stale import was not removed by the restart's reconciliation"
tail -n +"$((mark + 1))" "$WGC_TEST_DIR/frr-wgd-a.log" | grepq -E "remove 198.18.(2|3).0/24" &&
  fail "the restart removed a live import"
ip -n "${NS[a]}" route show table 10 proto 252 | grepq 198.18.22.0/24 && fail "stale export 198.18.22.0/24 left in table 10"
exports_now=$(exports)
[[ "$exports_now" == "$(grep -v 198.18.22.0/24 <<<"$exports_before")" ]] || fail "exports after restart: $exports_now"
fw a show imported json | jpy '
got = sorted((x["peer"], x["prefix"]) for x in d)
sys.exit(0 if got == [("site-b", "198.18.2.0/24"), ("site-b", "2001:db8:102::/64"), ("site-c", "198.18.3.0/24"), ("site-c", "2001:db8:103::/64")] else 1)' ||
  fail "show imported after restart: $(fw a show imported)"
wait_for 10 ns_exec "${LAN[a]}" ping -c1 -W1 198.18.2.2 || fail "LAN B unreachable after the frr-wgd restart"
pass "frr-wgd restart: live imports kept, the one withdrawn meanwhile removed, the stale export removed"
