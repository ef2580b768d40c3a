#!/bin/bash
# frr suite: `frr-wgd show frr-config` is accepted as advised. A fresh zebra (FPM module) and bgpd
# in a namespace take the whole snippet through `vtysh -f` without one `%` error, twice (pasting
# it again is harmless), and their running configuration then holds every session, prefix-list
# and route-map; the policy's static rules are in bgpd's terms (a default route is denied unless
# allow-default; a peer without a prefix-list gets nothing).
set -u
source "$(dirname "$0")/lib.sh"

NS[a]="$(ns_create snip)"
d="$(site_dir a)"
mkdir -p "$d"
chown frr:frr "$d"
for f in zebra bgpd; do echo "hostname snippet" >"$d/$f.conf"; done
chown frr:frr "$d"/*.conf
cat >"$d/frr-wgd.conf" <<CONF
fpm listen 127.0.0.1 port 2620
bgp-asn 65001
ip prefix-list SITE-B seq 10 permit 198.18.2.0/24
ip prefix-list SITE-B seq 30 permit 198.19.0.0/16 ge 24 le 24
ipv6 prefix-list SITE-B6 seq 10 permit 2001:db8:102::/64
ip prefix-list SITE-C seq 10 permit 198.18.3.0/24
interface wg0
 export table 10
 peer site-b public-key $(wg genkey | wg pubkey)
  tunnel-address 203.0.113.2
  tunnel-address fd00:77::2
  prefix-list ipv4 SITE-B
  prefix-list ipv6 SITE-B6
  remote-as 65002
  allow-default
 peer site-c public-key $(wg genkey | wg pubkey)
  tunnel-address 203.0.113.3
  tunnel-address fd00:77::3
  prefix-list ipv4 SITE-C
  approval
CONF
"$FRR_WGD" -f "$d/frr-wgd.conf" -s "$d/none.sock" show frr-config >"$d/snippet.conf" || fail "show frr-config"
zebra_up a
bgpd_up a
on_exit 'for p in "${PID_ZEBRA[@]}" "${PID_BGPD[@]}"; do rm -rf /var/tmp/frr/zebra.$p /var/tmp/frr/bgpd.$p; done'
for round in first second; do
  out="$(vtysh --vty_socket "$d" -f "$d/snippet.conf" 2>&1)"
  rc=$?
  printf '%s\n' "$out"
  [[ $rc -eq 0 ]] || fail "vtysh -f snippet ($round time) exited $rc"
  grep -E '^%|[Ff]ailure|[Uu]nknown command' <<<"$out" && fail "vtysh -f snippet ($round time) reported errors"
done
run="$(vty a 'show running-config')"
for want in "fpm address 127.0.0.1" "no fpm use-next-hop-groups" "ip import-table 10" \
  "neighbor 203.0.113.2 remote-as 65002" "neighbor fd00:77::2 remote-as 65002" \
  "neighbor 203.0.113.3 remote-as external" "neighbor 203.0.113.2 route-map FRR-WGD-IN4-site-b in" \
  "neighbor fd00:77::2 route-map FRR-WGD-IN6-site-b in" "neighbor 203.0.113.3 route-map FRR-WGD-OUT out" \
  "ip prefix-list FRR-WGD-SITE-B seq 30 permit 198.19.0.0/16 ge 24 le 24" \
  "ipv6 prefix-list FRR-WGD-SITE-B6 seq 10 permit 2001:db8:102::/64" \
  "route-map FRR-WGD-IN4-site-c deny 5" "route-map FRR-WGD-IN6-site-c deny 10" \
  "redistribute table 10" "redistribute kernel route-map FRR-WGD"; do
  grep -qF -- "$want" <<<"$run" || { printf '%s\n' "$run"; fail "running configuration lacks '$want'"; }
done
grep -qF "route-map FRR-WGD-IN4-site-b deny 5" <<<"$run" && fail "allow-default peer site-b got a default-route deny"
grep -qx "  neighbor fd00:77::2 activate" <<<"$(sed -n '/address-family ipv4 unicast/,/exit-address-family/p' <<<"$run")" &&
  { printf "%s\n" "$run"; fail "the IPv6 session is active for ipv4 unicast"; }
pass "show frr-config: a fresh zebra+bgpd take it through vtysh -f without an error, twice; sessions, prefix-lists and route-maps in place"
