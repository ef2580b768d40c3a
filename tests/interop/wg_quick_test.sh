#!/bin/bash
# wg-quick with WG_QUICK_USERSPACE_IMPLEMENTATION=wgcored, unchanged, in a namespace with a
# private mount namespace (its own /etc/wireguard and /var/run/wireguard). The peer is wgcored
# configured with `wg`. `wg-quick down` must end the daemon and remove its socket.
set -euo pipefail
WGC_TEST_NAME="wg-quick"
# shellcheck source=tests/lib/wg_pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/wg_pair.sh"
require_cmd wg-quick

peer_b_only
ns_exec "$NS_B" wg set "$IF_B" listen-port "$PORT_B" private-key "${WGC_TEST_DIR}/b.key" \
  peer "$(wg pubkey <"${WGC_TEST_DIR}/a.key")" allowed-ips "${TUN_A4}/32"

cat >"${WGC_TEST_DIR}/wg0.conf" <<CONF
[Interface]
PrivateKey = $(cat "${WGC_TEST_DIR}/a.key")
Address = ${TUN_A4}/24
ListenPort = ${PORT_A}
MTU = 1380

[Peer]
PublicKey = $(wg pubkey <"${WGC_TEST_DIR}/b.key")
AllowedIPs = ${TUN_B4}/32
Endpoint = ${UNDER_B4}:${PORT_B}
PersistentKeepalive = 25
CONF

# Everything on side a runs in one private mount namespace: wg-quick, wgcored (which it
# daemonizes) and the checks, so /var/run/wireguard there is our own tmpfs.
cat >"${WGC_TEST_DIR}/inner.sh" <<'INNER'
set -euo pipefail
mount -t tmpfs -o mode=0755 tmpfs /var/run/wireguard 2>/dev/null || { mkdir -p /var/run/wireguard; mount -t tmpfs -o mode=0755 tmpfs /var/run/wireguard; }
mount -t tmpfs -o mode=0700 tmpfs /etc/wireguard
cp "$WGC_TEST_DIR/wg0.conf" /etc/wireguard/wg0.conf
export PATH="$(dirname "$WGCORED"):$PATH" WG_QUICK_USERSPACE_IMPLEMENTATION=wgcored LOG_LEVEL=debug
wg-quick up wg0
test -S /var/run/wireguard/wg0.sock || { echo "no wgcored socket"; exit 1; }
[ "$(stat -c %a /var/run/wireguard/wg0.sock)" = 600 ] || { echo "socket mode is not 0600"; exit 1; }
mtu=$(cat /sys/class/net/wg0/mtu); [ "$mtu" = 1380 ] || { echo "MTU $mtu, expected 1380"; exit 1; }
ping -c1 -W2 TUN_B4 >/dev/null || { sleep 1; ping -c3 -W2 TUN_B4 >/dev/null; } || { echo "no ping through wg-quick tunnel"; exit 1; }
wg show wg0 dump | awk 'NR==2 && $8 == 25 { ok = 1 } END { exit !ok }' || { echo "persistent keepalive not applied"; exit 1; }
wg-quick down wg0
for i in $(seq 50); do [ -S /var/run/wireguard/wg0.sock ] || break; sleep 0.1; done
[ ! -S /var/run/wireguard/wg0.sock ] || { echo "socket left after wg-quick down"; exit 1; }
! ip link show wg0 >/dev/null 2>&1 || { echo "wg0 left after wg-quick down"; exit 1; }
echo inner-ok
INNER
sed -i "s/TUN_B4/${TUN_B4}/g" "${WGC_TEST_DIR}/inner.sh"
export WGCORED WGC_TEST_DIR
ns_exec "$NS_A" unshare -m --propagation private bash "${WGC_TEST_DIR}/inner.sh" >"${WGC_TEST_DIR}/inner.log" 2>&1 ||
  { cat "${WGC_TEST_DIR}/inner.log" >&2; fail "wg-quick up/ping/down with wgcored failed"; }
grep -q inner-ok "${WGC_TEST_DIR}/inner.log" || fail "inner script did not finish"
pass "wg-quick up (wgcored as userspace implementation), ping, keepalive, MTU, wg-quick down"
# The daemon must be gone: nothing of ours may remain in namespace a.
wait_for 5 sh -c "[ -z \"\$(ip netns pids $NS_A)\" ]" || fail "wgcored still running in ${NS_A} after wg-quick down"
pass "wgcored exited when wg-quick deleted the interface"
