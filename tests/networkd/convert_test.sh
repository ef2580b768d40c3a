#!/bin/bash
# `wgcore-networkd convert`: a wg-quick file becomes NAME.netdev + NAME.network; wgcore-networkd
# and systemd-networkd build from them the tunnel that stock wg-quick(8) (Debian's, over Debian's
# wireguard-go: no code of ours on that side) builds from the original in another namespace:
# same `wg showconf`, addresses, MTU and a route for every AllowedIPs prefix; and the converted
# tunnel carries traffic.
set -euo pipefail
source "${WGCORE_SOURCE_ROOT}/tests/networkd/lib.sh"
require_cmd wg-quick wireguard-go

nd_init
NS_P="$(ns_create peer)"
NS_W="$(ns_create wgquick)"
ns_veth "$NS_ND" veth0 "$NS_P" veth0 198.51.100.1/24 198.51.100.2/24
PEER="wgp$$"
peer_go "$NS_P" "$PEER" 51821 203.0.113.2/24
IF="wq$$"  # the same name on both sides; wireguard-go's UAPI socket is in the shared /run
ns_exec "$NS_P" ip address add fd00:77::2/64 dev "$PEER"
ns_exec "$NS_P" wg set "$PEER" peer "$(pub_key "$IF")" allowed-ips 203.0.113.1/32,fd00:77::1/128

CONF="${WGC_TEST_DIR}/${IF}.conf"
cat >"$CONF" <<CONF
[Interface]
PrivateKey = $(gen_key "$IF")
Address = 203.0.113.1/24, fd00:77::1/64
ListenPort = 51820
MTU = 1380

[Peer]
PublicKey = $(pub_key "$PEER")
AllowedIPs = 203.0.113.2/32, fd00:77::2/128, 198.18.7.0/24, 2001:db8:100:7::/64
Endpoint = 198.51.100.2:51821
PersistentKeepalive = 25
CONF

"$WGCORE_NETWORKD" convert "$CONF" --output-dir "$ND_ETC" >"${WGC_TEST_DIR}/convert.out" ||
  fail "convert failed"
[[ -f "${ND_ETC}/${IF}.netdev" && -f "${ND_ETC}/${IF}.network" ]] || fail "convert wrote no files"
[[ "$(stat -c %a "${ND_ETC}/${IF}.netdev")" == 640 ]] || fail ".netdev (private key) is not mode 0640"
echo "--- ${IF}.netdev (key elided)"; sed 's/^PrivateKey=.*/PrivateKey=.../' "${ND_ETC}/${IF}.netdev"
echo "--- ${IF}.network"; cat "${ND_ETC}/${IF}.network"

nd_start "$IF"
wait_for 20 nd_configured "$IF" || { ndx networkctl status "$IF" || true; fail "networkd did not configure ${IF}"; }
wait_for 10 ns_exec "$NS_ND" ping -c1 -W1 203.0.113.2 || fail "no IPv4 ping through the converted tunnel"
wait_for 10 ns_exec "$NS_ND" ping -c1 -W1 fd00:77::2 || fail "no IPv6 ping through the converted tunnel"
pass "converted files: networkd configured ${IF}, pings cross"

# The reference: stock wg-quick on the original file, in its own namespace. No wireguard module
# here, so it falls back to its userspace implementation, Debian's wireguard-go.
on_exit "ip netns exec '$NS_W' env WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick down '$CONF' >/dev/null 2>&1"
ns_exec "$NS_W" env WG_QUICK_USERSPACE_IMPLEMENTATION=wireguard-go wg-quick up "$CONF" >"${WGC_TEST_DIR}/wgquick.log" 2>&1 ||
  { cat "${WGC_TEST_DIR}/wgquick.log"; fail "stock wg-quick up failed"; }
grepq "wireguard-go ${IF}" <"${WGC_TEST_DIR}/wgquick.log" || { cat "${WGC_TEST_DIR}/wgquick.log"; fail "wg-quick did not run wireguard-go"; }

showconf() { sed '/^$/d' | sort; }
diff <(ndx wg showconf "$IF" | showconf) <(ns_exec "$NS_W" wg showconf "$IF" | showconf) ||
  fail "wg showconf differs"
# Global addresses: a kernel WireGuard link never gets an IPv6 link-local address (networkd
# gives our TUN none either: LinkLocalAddressing=no), but the kernel may add one to wgcored's TUN.
addrs() { ip -n "$1" -o address show dev "$IF" scope global | awk '{print $3, $4}' | sort; }
diff <(addrs "$NS_ND") <(addrs "$NS_W") || fail "addresses differ"
mtu() { ip -n "$1" -o link show dev "$IF" | grep -o 'mtu [0-9]*'; }
[[ "$(mtu "$NS_ND")" == "$(mtu "$NS_W")" && "$(mtu "$NS_ND")" == "mtu 1380" ]] ||
  fail "MTU differs: $(mtu "$NS_ND") vs $(mtu "$NS_W")"
# RouteTable=main routes appear once networkd has brought the link up (the helper acts on the link event).
wait_for 10 sh -c "ip -n '$NS_ND' route show 198.18.7.0/24 | grep -q 'dev ${IF}'" || fail "no AllowedIPs route"
# Routing: every AllowedIPs destination leaves through the tunnel on both sides, others not.
route_dev() { { ip -n "$1" route get "$2" 2>/dev/null || true; } | { grep -o 'dev [^ ]*' || true; } | head -1; }
for dst in 203.0.113.2 198.18.7.9 fd00:77::2 2001:db8:100:7::9 198.18.8.1 2001:db8:100:8::1; do
  a="$(route_dev "$NS_ND" "$dst")" b="$(route_dev "$NS_W" "$dst")"
  [[ "$a" == "$b" ]] || fail "route to ${dst}: '${a}' (networkd) vs '${b}' (wg-quick)"
done
[[ "$(route_dev "$NS_ND" 198.18.7.9)" == "dev ${IF}" ]] || fail "AllowedIPs 198.18.7.0/24 not routed into ${IF}"
# And the routes on the link themselves, by destination (wg-quick adds one per AllowedIPs prefix;
# protocol and metric are each tool's own; link-local is the kernel's business).
dests() { { ip -n "$1" -4 route show dev "$IF"; ip -n "$1" -6 route show dev "$IF"; } | awk '$1 !~ /^fe80/ { print $1 }' | sort; }
wait_for 10 sh -c "[ \"\$(ip -n '$NS_ND' -6 route show 2001:db8:100:7::/64 dev '$IF')\" ]" || fail "no IPv6 AllowedIPs route"
# networkd's RouteTable= adds a route for every AllowedIPs prefix (as networkd does for a kernel
# WireGuard link); wg-quick's add_route skips a prefix that a route on the link already matches
# (`ip route show dev IF match P`: here the /32 and /128 inside the addresses' own prefixes).
# So: nothing of wg-quick's is missing, and each extra route of ours is one wg-quick skipped by
# that rule.
missing="$(comm -13 <(dests "$NS_ND") <(dests "$NS_W"))"
[[ -z "$missing" ]] || fail "routes of stock wg-quick missing on the networkd side: ${missing}"
extra=()
for p in $(comm -23 <(dests "$NS_ND") <(dests "$NS_W")); do
  fam=-4
  [[ "$p" == *:* ]] && fam=-6
  # wg-quick's own test, on its side, with the routes it did add.
  [[ -n "$(ip -n "$NS_W" "$fam" route show dev "$IF" match "$p")" ]] ||
    fail "route ${p} on the networkd side only, and no route of wg-quick's on ${IF} covers it"
  extra+=("$p")
done
echo "routes on ${IF}: $(dests "$NS_W" | tr '\n' ' ')(both); ${extra[*]:-none} (networkd only, covered by an address prefix route, which wg-quick does not duplicate)"
pass "same tunnel as stock wg-quick: showconf, addresses, MTU, a route per AllowedIPs prefix"
