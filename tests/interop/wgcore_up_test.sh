#!/bin/bash
# `wgcore up` / `wgcore down` (userspace backend) against wg-quick itself: the same config with a
# default route (0.0.0.0/0, ::/0: wg-quick's fwmark policy routing) is brought up by
# `wgcore up` in namespace a and by stock `wg-quick up` (WG_QUICK_USERSPACE_IMPLEMENTATION=
# wgcored) in namespace r; their rules, routes, fwmark and MTU must be identical. Then traffic
# through a's tunnel to a wgcored peer in b (direct and via the default route), and `wgcore
# down` must remove rules, routes, interface and daemon, and write the config back (SaveConfig).
set -euo pipefail
WGC_TEST_NAME="wgcore-up"
# shellcheck source=tests/lib/wg_pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/wg_pair.sh"
require_cmd wg-quick
[[ -x "$WGCORE_CLI" ]] || fail "wgcore not built at ${WGCORE_CLI}"

peer_b_only 1380
NS_R="$(ns_create r)"
# Reached from a only through its default route (nothing in a's main table covers it).
ip -n "$NS_B" addr add 198.18.0.1/32 dev "$IF_B"
ns_exec "$NS_B" wg set "$IF_B" listen-port "$PORT_B" private-key "${WGC_TEST_DIR}/b.key" \
  peer "$(wg pubkey <"${WGC_TEST_DIR}/a.key")" allowed-ips "${TUN_A4}/32,${TUN_A6}/128"

cat >"${WGC_TEST_DIR}/wg0.conf" <<CONF
[Interface]
Address = ${TUN_A4}/24
Address = ${TUN_A6}/64
MTU = 1380
SaveConfig = true
PostUp = echo "up %i" >> ${WGC_TEST_DIR}/hooks.log
PreDown = echo "down %i" >> ${WGC_TEST_DIR}/hooks.log
ListenPort = ${PORT_A}
PrivateKey = $(cat "${WGC_TEST_DIR}/a.key")

[Peer]
PublicKey = $(wg pubkey <"${WGC_TEST_DIR}/b.key")
AllowedIPs = 0.0.0.0/0, ::/0
Endpoint = ${UNDER_B4}:${PORT_B}
PersistentKeepalive = 25
CONF

# The state both sides are compared on: rules, the policy table, wg0's routes, fwmark, MTU,
# src_valid_mark. Run inside a namespace (and its mount namespace, for `wg`).
cat >"${WGC_TEST_DIR}/state.sh" <<'STATE'
for v in -4 -6; do
  echo "== ip $v rule"; ip $v rule
  echo "== ip $v route show table 51820"; ip $v route show table 51820
  echo "== ip $v route show dev wg0"; ip $v route show dev wg0
  echo "== ip $v route show table local dev wg0"; ip $v route show table local dev wg0
done
echo "== fwmark"; wg show wg0 fwmark
echo "== mtu"; cat /proc/sys/net/ipv4/conf/wg0/mtu 2>/dev/null || ip link show wg0 | grep -o 'mtu [0-9]*'
echo "== src_valid_mark"; cat /proc/sys/net/ipv4/conf/all/src_valid_mark
echo "== addresses"; ip -o addr show dev wg0 | awk '{print $3, $4}'
echo "== nft"; nft list table ip wg-quick-wg0; nft list table ip6 wg-quick-wg0
STATE
# A TUN gets a random IPv6 link-local address: the one thing allowed to differ.
norm_ll() { sed -E 's/fe80::[0-9a-f:]+/fe80::LL/g' "$@"; }

# Everything on a side runs in its own mount namespace: /etc/wireguard and /var/run/wireguard
# are private tmpfs there, shared with the daemon it starts.
cat >"${WGC_TEST_DIR}/prologue.sh" <<'PRO'
set -euo pipefail
mkdir -p /var/run/wireguard
mount -t tmpfs -o mode=0755 tmpfs /var/run/wireguard
mount -t tmpfs -o mode=0700 tmpfs /etc/wireguard
cp "$WGC_TEST_DIR/wg0.conf" /etc/wireguard/wg0.conf
export PATH="$(dirname "$WGCORED"):$PATH" LOG_LEVEL=debug
PRO

cat >"${WGC_TEST_DIR}/ref.sh" <<'REF'
source "$WGC_TEST_DIR/prologue.sh"
WG_QUICK_USERSPACE_IMPLEMENTATION=wgcored wg-quick up wg0
bash "$WGC_TEST_DIR/state.sh" >"$WGC_TEST_DIR/state.ref"
wg set wg0 peer "$(wg show wg0 peers)" persistent-keepalive 17
wg-quick down wg0
cp /etc/wireguard/wg0.conf "$WGC_TEST_DIR/saved.ref"
: >"$WGC_TEST_DIR/hooks.log"
echo ref-ok
REF

cat >"${WGC_TEST_DIR}/ours.sh" <<'OURS'
source "$WGC_TEST_DIR/prologue.sh"
rules_before="$(ip -4 rule; ip -6 rule)"
"$WGCORE_CLI" up wg0 --backend userspace
bash "$WGC_TEST_DIR/state.sh" >"$WGC_TEST_DIR/state.ours"
# The firewall at work: from b's underlay, a's tunnel address is not reachable; without the
# table it is (the reply leaves through the underlay's connected route).
ip netns exec "$NS_B" ip route add "$TUN_A4/32" via "$UNDER_A4"
if ip netns exec "$NS_B" ping -c1 -W1 -I "$UNDER_B4" "$TUN_A4" >/dev/null; then echo "the tunnel address answered from outside"; exit 1; fi
nft delete table ip wg-quick-wg0
ip netns exec "$NS_B" ping -c1 -W1 -I "$UNDER_B4" "$TUN_A4" >/dev/null || { echo "no answer without the firewall either: the check proves nothing"; exit 1; }
ip netns exec "$NS_B" ip route del "$TUN_A4/32"
nft -f <(sed -n '/^== nft/,$p' "$WGC_TEST_DIR/state.ours" | sed -n '/^table ip wg-quick-wg0/,/^}/p')
"$WGCORE_CLI" backend wg0 >"$WGC_TEST_DIR/backend.txt"
"$WGCORE_CLI" up wg0 2>"$WGC_TEST_DIR/again.txt" && { echo "second up succeeded"; exit 1; }
ping -c1 -W2 "$TUN_B4" >/dev/null || { sleep 1; ping -c3 -W2 "$TUN_B4" >/dev/null; } || { echo "no IPv4 ping"; exit 1; }
ping -6 -c2 -W2 "$TUN_B6" >/dev/null || { echo "no IPv6 ping"; exit 1; }
ping -c2 -W2 198.18.0.1 >/dev/null || { echo "no ping through the default route (table 51820)"; exit 1; }
# A later change to the live device must reach the file through SaveConfig.
wg set wg0 peer "$(wg show wg0 peers)" persistent-keepalive 17
pid="$(pgrep -f -x "$(dirname "$WGCORED")/wgcored wg0" || true)"
"$WGCORE_CLI" down wg0
for i in $(seq 50); do [ -S /var/run/wireguard/wg0.sock ] || break; sleep 0.1; done
[ ! -S /var/run/wireguard/wg0.sock ] || { echo "socket left after down"; exit 1; }
! ip link show wg0 >/dev/null 2>&1 || { echo "wg0 left after down"; exit 1; }
[ "$(ip -4 rule; ip -6 rule)" = "$rules_before" ] || { echo "rules left after down:"; ip -4 rule; ip -6 rule; exit 1; }
[ -z "$(ip -4 route show table 51820; ip -6 route show table 51820)" ] || { echo "routes left in table 51820"; exit 1; }
[ -z "$(nft list tables)" ] || { echo "nft tables left after down:"; nft list tables; exit 1; }
cp /etc/wireguard/wg0.conf "$WGC_TEST_DIR/saved.conf"
stat -c %a /etc/wireguard/wg0.conf >"$WGC_TEST_DIR/saved.mode"
# DNS without resolvconf(8): a clear error and nothing left behind.
if ! command -v resolvconf >/dev/null; then
  sed 's/^MTU = 1380$/MTU = 1380\nDNS = 203.0.113.53/' /etc/wireguard/wg0.conf >/etc/wireguard/wg1.conf
  if "$WGCORE_CLI" up wg1 --backend userspace 2>"$WGC_TEST_DIR/dns.txt"; then echo "up with DNS but no resolvconf succeeded"; exit 1; fi
  grep -q "resolvconf" "$WGC_TEST_DIR/dns.txt" || { echo "no resolvconf error:"; cat "$WGC_TEST_DIR/dns.txt"; exit 1; }
  ! ip link show wg1 >/dev/null 2>&1 || { echo "wg1 left after the failed up"; exit 1; }
  [ "$(ip -4 rule; ip -6 rule)" = "$rules_before" ] || { echo "rules left after the failed up"; exit 1; }
fi
echo "$pid" >"$WGC_TEST_DIR/daemon.pid"
echo ours-ok
OURS

export WGCORED WGCORE_CLI WGC_TEST_DIR TUN_B4 TUN_B6 TUN_A4 NS_B UNDER_A4 UNDER_B4
ns_exec "$NS_R" unshare -m --propagation private bash "${WGC_TEST_DIR}/ref.sh" >"${WGC_TEST_DIR}/ref.log" 2>&1 ||
  { cat "${WGC_TEST_DIR}/ref.log" >&2; fail "reference wg-quick up/down failed"; }
grep -q ref-ok "${WGC_TEST_DIR}/ref.log" || fail "reference script did not finish"
ns_exec "$NS_A" unshare -m --propagation private bash "${WGC_TEST_DIR}/ours.sh" >"${WGC_TEST_DIR}/ours.log" 2>&1 ||
  { cat "${WGC_TEST_DIR}/ours.log" >&2; fail "wgcore up/ping/down failed"; }
grep -q ours-ok "${WGC_TEST_DIR}/ours.log" || fail "wgcore script did not finish"
# Its steps say what it does: no `wg` runs, so none is printed.
grep "^\[#\]" "${WGC_TEST_DIR}/ours.log" | grep -E "configure|save" || true
grep -q "^\[#\] configure wg0 from /etc/wireguard/wg0.conf (1 peer(s)) over the UAPI socket /var/run/wireguard/wg0.sock$" \
  "${WGC_TEST_DIR}/ours.log" || fail "wgcore up did not say how it configured wg0"
grep -q "^\[#\] save the running configuration of wg0 .* to /etc/wireguard/wg0.conf$" "${WGC_TEST_DIR}/ours.log" ||
  fail "wgcore down did not say it saved the configuration"
grep -q "^\[#\] wg " "${WGC_TEST_DIR}/ours.log" && fail "wgcore printed a wg command it does not run: $(grep '^\[#\] wg ' "${WGC_TEST_DIR}/ours.log")"

grep -q "not from all fwmark 0xca6c lookup 51820" "${WGC_TEST_DIR}/state.ours" ||
  { cat "${WGC_TEST_DIR}/state.ours" >&2; fail "no fwmark rule after wgcore up"; }
grep -q 'iifname != "wg0" ip daddr 203.0.113.1 ' "${WGC_TEST_DIR}/state.ref" ||
  { cat "${WGC_TEST_DIR}/state.ref" >&2; fail "stock wg-quick wrote no nft firewall (is nftables installed?)"; }
diff -u <(norm_ll "${WGC_TEST_DIR}/state.ref") <(norm_ll "${WGC_TEST_DIR}/state.ours") >&2 ||
  fail "wgcore up left different rules/routes/fwmark/MTU than wg-quick up"
pass "wgcore up: rules, routes, fwmark, MTU and addresses identical to wg-quick up"
grep -q "^userspace: wg0 is served by a userspace daemon" "${WGC_TEST_DIR}/backend.txt" ||
  fail "wgcore backend wg0 said: $(cat "${WGC_TEST_DIR}/backend.txt")"
grep -q "\`wg0' already exists" "${WGC_TEST_DIR}/again.txt" || fail "second up: $(cat "${WGC_TEST_DIR}/again.txt")"
pass "pings through the tunnel (direct and via the default route); backend reported"

[ "$(cat "${WGC_TEST_DIR}/hooks.log")" = $'up wg0\ndown wg0' ] ||
  fail "hooks ran as: $(cat "${WGC_TEST_DIR}/hooks.log")"
[ "$(cat "${WGC_TEST_DIR}/saved.mode")" = 600 ] || fail "saved config mode $(cat "${WGC_TEST_DIR}/saved.mode")"
# SaveConfig: byte for byte what wg-quick's save_config wrote after the same live change
# (keepalive 17), which includes the fwmark and every address `ip` lists, link-local too.
grep -q "^PersistentKeepalive = 17$" "${WGC_TEST_DIR}/saved.conf" || fail "SaveConfig missed the live keepalive"
diff -u <(norm_ll "${WGC_TEST_DIR}/saved.ref") <(norm_ll "${WGC_TEST_DIR}/saved.conf") >&2 ||
  fail "SaveConfig wrote a different file than wg-quick"
pass "hooks ran with %i; SaveConfig wrote the live configuration back as wg-quick does (mode 0600)"
wait_for 5 sh -c "[ -z \"\$(ip netns pids $NS_A)\" ]" || fail "wgcored still running in ${NS_A} after wgcore down"
pass "wgcore down removed rules, routes, interface and daemon"
