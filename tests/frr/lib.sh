# lib.sh: three WireGuard sites A, B, C for the frr suite. Each site is a namespace with wgcored
# serving ONE interface with two peers (configured with stock `wg`), FRR 8.4 zebra (with the FPM
# module) + bgpd started from per-site config files, and frr-wgd; behind each site a LAN
# namespace. The sites share one underlay (a bridge in namespace `ul`). BGP runs over the tunnel
# addresses (IPv4 and IPv6 sessions). Only A exports its static AllowedIPs.
# shellcheck shell=bash
#
#   source "$WGCORE_SOURCE_ROOT/tests/frr/lib.sh"
#   sites_up                       # everything running, BGP established, frr-wgd synced
#   vty a 'show bgp summary'       # vtysh in site a's FRR
#   fw a show refused json         # frr-wgd client of site a
# Addresses: underlay 198.51.100.N/24 + 2001:db8:1::N/64, tunnel 203.0.113.N/24 + fd00:77::N/64,
# LAN N 198.18.N.0/24 + 2001:db8:10N::/64 (site N = 1 a, 2 b, 3 c).

# shellcheck source=tests/lib/netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
require_tun
require_cmd wg vtysh python3
[[ -x /usr/lib/frr/zebra && -x /usr/lib/frr/bgpd ]] || skip_or_fail "needs FRR (zebra, bgpd in /usr/lib/frr)"
id frr >/dev/null 2>&1 || skip_or_fail "needs the frr user (Debian package frr)"

WGCORE_BUILD_ROOT="${WGCORE_BUILD_ROOT:-${WGC_ROOT}/build}"
WGCORED="${WGCORED:-${WGCORE_BUILD_ROOT}/tools/wgcored}"
FRR_WGD="${FRR_WGD:-${WGCORE_BUILD_ROOT}/frr-wgd/frr-wgd}"
[[ -x "$WGCORED" ]] || fail "wgcored not built at ${WGCORED}"
[[ -x "$FRR_WGD" ]] || fail "frr-wgd not built at ${FRR_WGD}"

# FRR drops privileges to user frr: it must reach its per-site directories.
chmod 755 "$WGC_TEST_DIR"

SITES=(a b c)
declare -A NUM=([a]=1 [b]=2 [c]=3) ASN=([a]=65001 [b]=65002 [c]=65003)
# How each site's frr-wgd learns FRR's routes: B watches the kernel's routes (rtnetlink), A and C
# take zebra's FPM stream.
declare -A IMPORT=([a]=fpm [b]=rtnetlink [c]=fpm)
# shellcheck disable=SC2034  # the PID_* arrays are for the tests sourcing this file
declare -A NS LAN IFN PUB PID_WG PID_ZEBRA PID_BGPD PID_FW

site_dir() { printf '%s/site-%s\n' "$WGC_TEST_DIR" "$1"; }
vty() { local s="$1"; shift; local a=(); local c; for c in "$@"; do a+=(-c "$c"); done; vtysh --vty_socket "$(site_dir "$s")" "${a[@]}"; }
fw() { local s="$1"; shift; "$FRR_WGD" -s "$(site_dir "$s")/frr-wgd.sock" "$@"; }
# vty_has SITE COMMAND TEXT: the command's output (in site SITE's FRR) contains TEXT.
vty_has() { vty "$1" "$2" | grepq -F -- "$3"; }
allowed_of() { # allowed_of SITE PEER_SITE: that peer's AllowedIPs on SITE, one per line, sorted
  ns_exec "${NS[$1]}" wg show "${IFN[$1]}" allowed-ips | awk -v k="${PUB[$2]}" '$1 == k { for (i = 2; i <= NF; i++) print $i }' | sort
}
has_allowed() { allowed_of "$1" "$2" | grepq -xF "$3"; }
# fw_log_since LINE TEXT: site A's frr-wgd log has TEXT after its first LINE lines.
fw_log_since() { tail -n +"$(($1 + 1))" "$WGC_TEST_DIR/frr-wgd-a.log" | grepq -F -- "$2"; }

sites_underlay() {
  local s n
  NS[ul]="$(ns_create ul)"
  ip -n "${NS[ul]}" link add br0 type bridge || fail "bridge"
  ip -n "${NS[ul]}" link set br0 up
  for s in "${SITES[@]}"; do
    n=${NUM[$s]}
    NS[$s]="$(ns_create "site$s")"
    LAN[$s]="$(ns_create "lan$s")"
    IFN[$s]="w${s}${WGC_NS_SUFFIX}"
    IFN[$s]="${IFN[$s]:0:15}"
    ns_veth "${NS[$s]}" u0 "${NS[ul]}" "u$s" "198.51.100.$n/24"
    ns_addr "${NS[$s]}" u0 "2001:db8:1::$n/64"
    ip -n "${NS[ul]}" link set "u$s" master br0 || fail "bridge port"
    ns_veth "${NS[$s]}" lan0 "${LAN[$s]}" eth0 "198.18.$n.1/24" "198.18.$n.2/24"
    ns_addr "${NS[$s]}" lan0 "2001:db8:10$n::1/64"
    ns_addr "${LAN[$s]}" eth0 "2001:db8:10$n::2/64"
    ip -n "${LAN[$s]}" route add default via "198.18.$n.1" || fail "lan route"
    ip -n "${LAN[$s]}" -6 route add default via "2001:db8:10$n::1" || fail "lan route6"
    ns_sysctl "${NS[$s]}" net.ipv4.ip_forward 1
    ns_sysctl "${NS[$s]}" net.ipv6.conf.all.forwarding 1
    mkdir -p "$(site_dir "$s")"
    chown frr:frr "$(site_dir "$s")"
    chmod 775 "$(site_dir "$s")"
    (umask 077 && wg genkey >"$(site_dir "$s")/wg.key")
    PUB[$s]="$(wg pubkey <"$(site_dir "$s")/wg.key")"
  done
}

# Static AllowedIPs: every peer's tunnel addresses; on A, peer B also owns 198.18.22.0/24 and
# 2001:db8:122::/48 (a site network configured by hand, which A exports and nobody may hijack).
statics_of() { # statics_of SITE PEER
  local ip="203.0.113.${NUM[$2]}/32,fd00:77::${NUM[$2]}/128"
  [[ "$1" == a && "$2" == b ]] && ip+=",198.18.22.0/24,2001:db8:122::/48"
  printf '%s\n' "$ip"
}

wg_up() { # wg_up SITE: (re)start wgcored and configure it with stock wg
  local s="$1" n=${NUM[$1]} p args=()
  ns_spawn "${NS[$s]}" "wgcored-$s" env WG_PROCESS_FOREGROUND=1 "$WGCORED" -f "${IFN[$s]}"
  PID_WG[$s]=$WGC_LAST_PID
  wait_for 10 test -S "/var/run/wireguard/${IFN[$s]}.sock" || fail "wgcored ($s) has no UAPI socket"
  wait_for 5 ip -n "${NS[$s]}" link show "${IFN[$s]}" || fail "wgcored ($s) made no ${IFN[$s]}"
  for p in "${SITES[@]}"; do
    [[ "$p" == "$s" ]] && continue
    args+=(peer "${PUB[$p]}" endpoint "198.51.100.${NUM[$p]}:51820" allowed-ips "$(statics_of "$s" "$p")"
      persistent-keepalive 5)
  done
  ns_exec "${NS[$s]}" wg set "${IFN[$s]}" private-key "$(site_dir "$s")/wg.key" listen-port 51820 "${args[@]}" ||
    fail "wg set ($s)"
  ip -n "${NS[$s]}" addr add "203.0.113.$n/24" dev "${IFN[$s]}" || fail "tunnel address ($s)"
  ip -n "${NS[$s]}" addr add "fd00:77::$n/64" dev "${IFN[$s]}" || fail "tunnel address6 ($s)"
  ip -n "${NS[$s]}" link set "${IFN[$s]}" mtu 1420 up || fail "link up ($s)"
}

# write_frr_conf SITE: zebra.conf and bgpd.conf are `frr-wgd show frr-config zebra|bgpd` (the
# sessions, the policy's prefix-lists and route-maps, import-table, FPM) followed by what is the
# site's own business: router-id, timers for a fast test, its networks. Built from the snippet so
# the suite runs what frr-wgd tells administrators (no `no bgp ebgp-requires-policy` needed).
write_frr_conf() {
  local s="$1" n=${NUM[$1]} d p a
  d="$(site_dir "$s")"
  {
    echo "hostname site-$s"
    "$FRR_WGD" -f "$d/frr-wgd.conf" -s "$d/none.sock" show frr-config zebra || fail "show frr-config zebra ($s)"
  } >"$d/zebra.conf"
  {
    echo "hostname site-$s"
    "$FRR_WGD" -f "$d/frr-wgd.conf" -s "$d/none.sock" show frr-config bgpd || fail "show frr-config bgpd ($s)"
    echo "! --- the site's own part"
    # Scale (FRR_SCALE_ROUTES, scale_test.sh): B announces its kernel routes in 10.0.0.0/8.
    if [[ -n "${FRR_SCALE_ROUTES:-}" && "$s" == b ]]; then
      echo "ip prefix-list SCALE seq 5 permit 10.0.0.0/8 ge 26 le 26"
      echo "route-map SCALE-OUT permit 10"
      echo " match ip address prefix-list SCALE"
      echo "exit"
    fi
    echo "router bgp ${ASN[$s]}"
    echo " bgp router-id 198.51.100.$n"
    echo " no bgp network import-check"
    echo " bgp bestpath as-path multipath-relax"
    echo " timers bgp 1 3"
    for p in "${SITES[@]}"; do
      [[ "$p" == "$s" ]] && continue
      for a in "203.0.113.${NUM[$p]}" "fd00:77::${NUM[$p]}"; do
        echo " neighbor $a timers connect 1"
        echo " neighbor $a advertisement-interval 0"
      done
    done
    echo " address-family ipv4 unicast"
    echo "  network 198.18.$n.0/24"
    [[ "$s" == b ]] && echo "  network 198.18.4.0/24"
    [[ -n "${FRR_SCALE_ROUTES:-}" && "$s" == b ]] && echo "  redistribute kernel route-map SCALE-OUT"
    echo "  maximum-paths 8"
    echo " exit-address-family"
    echo " address-family ipv6 unicast"
    echo "  network 2001:db8:10$n::/64"
    echo " exit-address-family"
    echo "exit"
  } >"$d/bgpd.conf"
  chown frr:frr "$d/zebra.conf" "$d/bgpd.conf"
}

# frr_config_errors SITE: FRR's complaints about its configuration files (bad lines are logged
# and skipped, so a daemon that starts is no proof its file was taken).
frr_config_errors() {
  local d
  d="$(site_dir "$1")"
  grep -hE "No such command|Unknown command|Failure to communicate|% |config line [0-9]+:" "$d/zebra.log" "$d/bgpd.log" 2>/dev/null
}

zebra_up() {
  local s="$1" d
  d="$(site_dir "$s")"
  rm -f "$d/zserv.api"
  local mods=()
  [[ "${IMPORT[$s]}" == fpm ]] && mods=(-M dplane_fpm_nl)
  # -s 90000000: the netlink receive buffer of Debian's /etc/frr/daemons; with the 4 MiB
  # default, zebra misses some of 100 000 kernel routes added by one `ip -batch` (frr-scale).
  ns_spawn "${NS[$s]}" "zebra-$s" /usr/lib/frr/zebra "${mods[@]}" -s 90000000 -f "$d/zebra.conf" -i "$d/zebra.pid" \
    -z "$d/zserv.api" --vty_socket "$d" --log "file:$d/zebra.log"
  PID_ZEBRA[$s]=$WGC_LAST_PID
  wait_for 10 test -S "$d/zserv.api" || fail "zebra ($s) did not start"
}

bgpd_up() {
  local s="$1" d
  d="$(site_dir "$s")"
  ns_spawn "${NS[$s]}" "bgpd-$s" /usr/lib/frr/bgpd -f "$d/bgpd.conf" -i "$d/bgpd.pid" -z "$d/zserv.api" \
    --vty_socket "$d" --log "file:$d/bgpd.log"
  PID_BGPD[$s]=$WGC_LAST_PID
  wait_for 10 test -S "$d/bgpd.vty" || fail "bgpd ($s) did not start"
}

# frr-wgd's policy per site: A trusts B for its LAN, 198.18.4.0/24 and up to 100 prefixes in
# 198.19.0.0/16; C for the LAN range (but never a hijack) and an exact default route (refused
# all the same: no allow-default). B and C trust each neighbour for its LAN only.
write_fw_conf() {
  local s="$1" d p
  d="$(site_dir "$s")"
  {
    echo "! frr-wgd at site $s"
    echo "control-socket $d/frr-wgd.sock"
    echo "state-directory $d/state"
    if [[ "${IMPORT[$s]}" == fpm ]]; then
      echo "fpm listen 127.0.0.1 port 2620"
      echo "fpm sweep-delay 1000"
      echo "fpm replay-hold 5000"
    else
      echo "watch rtnetlink proto bgp"
    fi
    echo "refresh-interval 1000"
    echo "bgp-asn ${ASN[$s]}"
    # frr-wgd keeps FRR's FRR-WGD-* prefix-lists (the policy, and the guard of the fact-based
    # rules) in step itself.
    echo "frr-vtysh $(command -v vtysh) vty-socket $d"
    if [[ "$s" == a ]]; then
      echo "ip prefix-list SITE-B seq 10 permit 198.18.2.0/24"
      echo "ip prefix-list SITE-B seq 20 permit 198.18.4.0/24"
      echo "ip prefix-list SITE-B seq 30 permit 198.19.0.0/16 ge 24 le 24"
      [[ -n "${FRR_SCALE_ROUTES:-}" ]] && echo "ip prefix-list SITE-B seq 40 permit 10.0.0.0/8 ge 26 le 26"
      echo "ipv6 prefix-list SITE-B6 seq 10 permit 2001:db8:102::/64"
      echo "ip prefix-list SITE-C seq 10 permit 198.18.3.0/24"
      echo "ip prefix-list SITE-C seq 20 permit 198.18.0.0/15 le 32"
      echo "ip prefix-list SITE-C seq 25 permit 198.51.100.0/24 le 32"  # the underlay: only the guard stops it
      echo "ip prefix-list SITE-C seq 30 permit 0.0.0.0/0"
      echo "ipv6 prefix-list SITE-C6 seq 10 permit 2001:db8:103::/64"
    fi
    for p in "${SITES[@]}"; do
      [[ "$p" == "$s" ]] && continue
      if [[ "$s" != a ]]; then
        echo "ip prefix-list SITE-${p^^} seq 10 permit 198.18.${NUM[$p]}.0/24"
        echo "ipv6 prefix-list SITE-${p^^}6 seq 10 permit 2001:db8:10${NUM[$p]}::/64"
        # What A exports (sites_test.sh): its static network for B is reachable through A for C,
        # the one it adds for C through A for B. Each site's bgpd filters with these lists too,
        # so B never takes its own network back from A.
        if [[ "$p" == a && "$s" == c ]]; then
          echo "ip prefix-list SITE-A seq 20 permit 198.18.22.0/24"
          echo "ipv6 prefix-list SITE-A6 seq 20 permit 2001:db8:122::/48"
        elif [[ "$p" == a && "$s" == b ]]; then
          echo "ip prefix-list SITE-A seq 20 permit 198.18.33.0/24"
          echo "ipv6 prefix-list SITE-A6 seq 20 permit 2001:db8:133::/48"
        fi
      fi
    done
    echo "interface ${IFN[$s]}"
    [[ "$s" == a ]] && echo " export table 10"
    for p in "${SITES[@]}"; do
      [[ "$p" == "$s" ]] && continue
      echo " peer site-$p public-key ${PUB[$p]}"
      echo "  tunnel-address 203.0.113.${NUM[$p]}"
      echo "  tunnel-address fd00:77::${NUM[$p]}"
      echo "  prefix-list ipv4 SITE-${p^^}"
      echo "  prefix-list ipv6 SITE-${p^^}6"
      echo "  remote-as ${ASN[$p]}"
      if [[ "$s" == a && "$p" == b ]]; then
        if [[ -n "${FRR_SCALE_ROUTES:-}" ]]; then
          echo "  max-prefixes $((FRR_SCALE_ROUTES + 1000))"
        else
          echo "  max-prefixes 100 warn 80"
        fi
      fi
    done
  } >"$d/frr-wgd.conf"
}

fw_up() {
  local s="$1"
  ns_spawn "${NS[$s]}" "frr-wgd-$s" "$FRR_WGD" -f "$(site_dir "$s")/frr-wgd.conf" daemon
  PID_FW[$s]=$WGC_LAST_PID
  wait_for 10 test -S "$(site_dir "$s")/frr-wgd.sock" || fail "frr-wgd ($s) did not start"
}

# FPM connected and its first replay swept: the site's imports are authoritative.
fw_synced() { grep -q "in sync with the routing daemon" "$WGC_TEST_DIR/frr-wgd-$1.log"; }

bgp_established() { # bgp_established SITE: all four sessions up
  vty "$1" 'show bgp summary json' | python3 -c '
import json, sys
d = json.load(sys.stdin)
peers = [p for af in ("ipv4Unicast", "ipv6Unicast") for p in d.get(af, {}).get("peers", {}).values()]
sys.exit(0 if len(peers) == 4 and all(p["state"] == "Established" for p in peers) else 1)'
}

sites_up() {
  local s
  sites_underlay
  for s in "${SITES[@]}"; do wg_up "$s"; write_fw_conf "$s"; write_frr_conf "$s"; done
  # frr-wgd first: zebra's FPM client finds it listening at its first attempt.
  for s in "${SITES[@]}"; do fw_up "$s"; done
  for s in "${SITES[@]}"; do zebra_up "$s"; bgpd_up "$s"; done
  on_exit 'for p in "${PID_ZEBRA[@]}" "${PID_BGPD[@]}"; do rm -rf /var/tmp/frr/zebra.$p /var/tmp/frr/bgpd.$p; done'
  for s in "${SITES[@]}"; do
    ! frr_config_errors "$s" || fail "FRR at site $s did not take its configuration (above)"
  done
  for s in "${SITES[@]}"; do wait_for 30 bgp_established "$s" || fail "BGP sessions of site $s not established"; done
  for s in "${SITES[@]}"; do wait_for 20 fw_synced "$s" || fail "frr-wgd ($s) never synced with zebra's FPM replay"; done
}

# json_query CMD... | jq-less filtering: python expression over `d`, the parsed JSON on stdin.
jpy() { python3 -c "import json, sys; d = json.load(sys.stdin); $1"; }
