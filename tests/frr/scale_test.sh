#!/bin/bash
# frr suite, scale (issue 15): site B's bgpd announces FRR_SCALE_ROUTES (default 100000) /26s in
# 10.0.0.0/8 (kernel routes in B, `redistribute kernel`). They reach A's zebra over BGP, pass
# A's frr-wgd trust policy (FPM) into wgcored's AllowedIPs for peer B, while LAN A pings LAN B
# through the tunnel every 10 ms. Then one route is withdrawn and one announced. Reported: the
# time until all of them are in A's `wg show`, the time from the withdraw/announce to the
# AllowedIPs change, ping loss and max RTT meanwhile, and the RSS of A's wgcored and frr-wgd.
# Asserted: every route arrives (and only in peer B's AllowedIPs, and in A's kernel FIB), the
# single changes land, no ping is lost.
set -u
export FRR_SCALE_ROUTES="${FRR_SCALE_ROUTES:-100000}"
export WGC_TEST_NAME=frr_scale_test
source "$(dirname "$0")/lib.sh"
N=$FRR_SCALE_ROUTES

sites_up
pass "three sites up: BGP established, frr-wgd in sync"
wait_for 10 has_allowed a b 198.18.2.0/24 || fail "B's LAN not imported before the scale test"

rss_of() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
count_b() { # prefixes of 10.0.0.0/8 in A's AllowedIPs for peer B
  ns_exec "${NS[a]}" wg show "${IFN[a]}" allowed-ips >"$WGC_TEST_DIR/allowed-a.txt"
  awk -v k="${PUB[b]}" '$1 == k { for (i = 2; i <= NF; i++) if ($i ~ /^10\./) n++ } END { print n + 0 }' \
    "$WGC_TEST_DIR/allowed-a.txt"
}
rss_wg0=$(rss_of "${PID_WG[a]}") rss_fw0=$(rss_of "${PID_FW[a]}")

# N blackhole /26s in B's kernel (10.0.0.0/8 holds 262 144 of them): bgpd announces them
# (route-map SCALE-OUT).
prefix_of() { printf '10.%d.%d.%d/26\n' $(($1 >> 10)) $((($1 >> 2) & 255)) $((($1 & 3) << 6)); }
python3 -c "
import sys
for i in range(int(sys.argv[1])):
    print('route add blackhole 10.%d.%d.%d/26' % (i >> 10, (i >> 2) & 255, (i & 3) << 6))
" "$N" >"$WGC_TEST_DIR/routes.batch"

pinger_start "${LAN[a]}" 198.18.2.2
t0=$(date +%s%N)
ip -n "${NS[b]}" -batch "$WGC_TEST_DIR/routes.batch" || fail "adding ${N} routes in B"
t_added=$(date +%s%N)
# What each of A's daemons is doing, for a run where the count stops growing.
stall_report() {
  local p
  for p in "${PID_WG[a]}" "${PID_ZEBRA[a]}" "${PID_BGPD[a]}" "${PID_FW[a]}"; do
    printf 'stall: %s %s wchan=%s\n' "$p" "$(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-60)" "$(cat "/proc/$p/wchan")"
  done
  ps -eo pid,ppid,stat,wchan:24,etime,args | grep -F -e vtysh -e frr-wgd | grep -v grep | sed 's/^/stall: /'
  fw a show counters 2>&1 | sed 's/^/stall: frr-wgd: /'
  vty a 'show ip route summary' 2>&1 | sed 's/^/stall: zebra a: /'
  vty b 'show ip route summary' 2>&1 | sed 's/^/stall: zebra b: /'
  vty a 'show bgp ipv4 unicast summary' 2>&1 | sed 's/^/stall: bgpd a: /'
  vty b 'show bgp ipv4 unicast summary' 2>&1 | sed 's/^/stall: bgpd b: /'
  grep -v ' accept ' "$WGC_TEST_DIR/frr-wgd-a.log" | tail -n 30 | sed 's/^/stall: log a: /'
}
last=0 still=0
for ((i = 0; i < 600; i++)); do
  c=$(count_b)
  [[ $c -ge $N ]] && break
  [[ $c -ne $last ]] && printf 'scale: %d s: %d of %d in A'"'"'s AllowedIPs\n' $((($(date +%s%N) - t0) / 1000000000)) "$c" "$N"
  if [[ $c -eq $last ]]; then
    ((++still == 60)) && { stall_report; break; }
  else
    still=0
  fi
  last=$c
  sleep 1
done
t_all=$(date +%s%N)
c=$(count_b)
[[ $c -eq $N ]] || fail "only ${c} of ${N} announced routes reached A's AllowedIPs for peer B (no progress for 60 s, or 600 s in all)"
rss_wg1=$(rss_of "${PID_WG[a]}") rss_fw1=$(rss_of "${PID_FW[a]}")
others=$(awk -v k="${PUB[b]}" '$1 != k { for (i = 2; i <= NF; i++) if ($i ~ /^10\./) n++ } END { print n + 0 }' \
  "$WGC_TEST_DIR/allowed-a.txt")
[[ $others -eq 0 ]] || fail "${others} of B's routes in another peer's AllowedIPs"
fib=$(ip -n "${NS[a]}" route show proto bgp | grep -c '^10\.')
[[ $fib -ge $N ]] || fail "only ${fib} of ${N} routes in A's kernel FIB"
pass "all ${N} routes in A's AllowedIPs for peer B (and in its FIB) $(((t_all - t0) / 1000000)) ms after B added them (ip -batch took $(((t_added - t0) / 1000000)) ms)"

# One withdrawn, one announced: the time until A's AllowedIPs show both.
gone="$(prefix_of $((N - 1)))"
new="10.255.255.192/26"
t1=$(date +%s%N)
ip -n "${NS[b]}" route del blackhole "$gone" || fail "route del in B"
ip -n "${NS[b]}" route add blackhole "$new" || fail "route add in B"
single_done() { not has_allowed a b "$gone" && has_allowed a b "$new"; }
wait_for 30 single_done || fail "withdraw ${gone} / announce ${new} not reflected in A's AllowedIPs within 30 s"
t2=$(date +%s%N)
pass "withdraw + announce reflected in A's AllowedIPs after $(((t2 - t1) / 1000000)) ms"

pinger_stop
sent=$PING_SENT got=$PING_RECEIVED max=$PING_MAX_MS
printf 'scale: %s routes: all in AllowedIPs %d ms after ip -batch began; withdraw+announce %d ms; ' \
  "$N" $(((t_all - t0) / 1000000)) $(((t2 - t1) / 1000000))
printf 'LAN ping %s sent, %s back, max RTT %s ms; RSS wgcored %s -> %s KiB, frr-wgd %s -> %s KiB\n' \
  "$sent" "$got" "$max" "$rss_wg0" "$rss_wg1" "$rss_fw0" "$rss_fw1"
[[ -n $sent && $sent -gt 0 && $got -eq $sent ]] || fail "$((sent - got)) of ${sent} LAN pings lost while the routes arrived"
pass "LAN A -> LAN B: ${sent} pings every 10 ms, none lost, max RTT ${max} ms"
