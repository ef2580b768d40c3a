# wg_pair.sh: two WireGuard peers, one in each of two private network namespaces joined by a veth,
# each run by a userspace implementation (wgcored or wireguard-go) and configured only with stock
# `wg`. Shared by the interop tests and the demo.
# shellcheck shell=bash
#
# Use:
#   source "$WGCORE_SOURCE_ROOT/tests/lib/wg_pair.sh"
#   pair_setup wgcored wireguard-go 4        # implementations of side a and b, outer IP family
#   pair_configure a                         # only side a knows b's endpoint: a initiates
#   ns_exec "$NS_A" ping -c1 "$TUN_B4"
# Addresses: underlay 198.51.100.1-2/24 and 2001:db8:1::1-2/64; tunnel 203.0.113.1-2/24 and
# fd00:77::1-2/64 (documentation/ULA ranges only).

# shellcheck source=tests/lib/netns.sh
source "$(dirname "${BASH_SOURCE[0]}")/netns.sh"
require_tun

WGCORE_BUILD_ROOT="${WGCORE_BUILD_ROOT:-${WGC_ROOT}/build}"
WGCORED="${WGCORED:-${WGCORE_BUILD_ROOT}/tools/wgcored}"
WGCORE_CLI="${WGCORE_CLI:-${WGCORE_BUILD_ROOT}/tools/wgcore}"
[[ -x "$WGCORED" ]] || fail "wgcored not built at ${WGCORED}"
require_cmd wg
require_cmd wireguard-go

UNDER_A4=198.51.100.1 UNDER_B4=198.51.100.2
UNDER_A6=2001:db8:1::1 UNDER_B6=2001:db8:1::2
TUN_A4=203.0.113.1 TUN_B4=203.0.113.2
TUN_A6=fd00:77::1 TUN_B6=fd00:77::2
PORT_A=51820 PORT_B=51821

# The path of an implementation's binary.
impl_path() {
  case "$1" in
    wgcored) printf '%s\n' "$WGCORED" ;;
    wireguard-go) command -v wireguard-go ;;
    *) fail "unknown implementation '$1'" ;;
  esac
}

# start_daemon SIDE: (re)start side a or b's implementation in the foreground under our PID
# registry and wait for its UAPI socket. Sets PID_A / PID_B.
start_daemon() {
  local side="$1" ns iface impl
  if [[ "$side" == a ]]; then ns="$NS_A" iface="$IF_A" impl="$IMPL_A"; else ns="$NS_B" iface="$IF_B" impl="$IMPL_B"; fi
  ns_spawn "$ns" "daemon_${side}" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL="${WGC_LOG_LEVEL:-debug}" \
    "$(impl_path "$impl")" -f "$iface"
  if [[ "$side" == a ]]; then PID_A=$WGC_LAST_PID; else PID_B=$WGC_LAST_PID; fi
  wait_for 10 test -S "/var/run/wireguard/${iface}.sock" || fail "${impl} (${side}) did not create its UAPI socket"
  wait_for 5 ip -n "$ns" link show "$iface" || fail "${impl} (${side}) did not create ${iface}"
}

# pair_underlay: namespaces a and b joined by a veth with both underlay families, fresh keys and
# unique interface names (UAPI sockets live in the shared filesystem, not in the namespace).
pair_underlay() {
  NS_A="$(ns_create a)" NS_B="$(ns_create b)"
  IF_A="wa${WGC_NS_SUFFIX}" IF_B="wb${WGC_NS_SUFFIX}"
  IF_A="${IF_A:0:15}" IF_B="${IF_B:0:15}"
  ns_veth "$NS_A" veth0 "$NS_B" veth0 "${UNDER_A4}/24" "${UNDER_B4}/24"
  ns_addr "$NS_A" veth0 "${UNDER_A6}/64"
  ns_addr "$NS_B" veth0 "${UNDER_B6}/64"
  umask 077
  wg genkey >"${WGC_TEST_DIR}/a.key"
  wg genkey >"${WGC_TEST_DIR}/b.key"
  KEY_A_PUB="$(wg pubkey <"${WGC_TEST_DIR}/a.key")"
  KEY_B_PUB="$(wg pubkey <"${WGC_TEST_DIR}/b.key")"
}

# tunnel_up SIDE [MTU]: the side's daemon running, its tunnel addresses added and the link up.
tunnel_up() {
  local side="$1" mtu="${2:-1420}" ns iface a4 a6
  if [[ "$side" == a ]]; then ns="$NS_A" iface="$IF_A" a4="$TUN_A4" a6="$TUN_A6"; else ns="$NS_B" iface="$IF_B" a4="$TUN_B4" a6="$TUN_B6"; fi
  start_daemon "$side"
  ip -n "$ns" addr add "${a4}/24" dev "$iface" || fail "address on ${iface}"
  ip -n "$ns" addr add "${a6}/64" dev "$iface" || fail "address on ${iface}"
  ip -n "$ns" link set "$iface" mtu "$mtu" up || fail "link up ${iface}"
}

# pair_setup IMPL_A IMPL_B FAMILY: the underlay and both daemons with their tunnel addresses.
pair_setup() {
  IMPL_A="$1" IMPL_B="$2" FAMILY="${3:-4}"
  pair_underlay
  tunnel_up a
  tunnel_up b
}

# peer_b_only [MTU]: the underlay and wgcored on side b only (with B's tunnel addresses), for
# tests that bring side a up with another tool (wg-quick, wgcore up).
peer_b_only() {
  IMPL_B=wgcored FAMILY=4
  pair_underlay
  tunnel_up b "${1:-1420}"
}

# endpoint_of SIDE: the underlay endpoint of side a or b in the pair's outer family.
endpoint_of() {
  if [[ "$FAMILY" == 6 ]]; then
    [[ "$1" == a ]] && printf '[%s]:%s\n' "$UNDER_A6" "$PORT_A" || printf '[%s]:%s\n' "$UNDER_B6" "$PORT_B"
  else
    [[ "$1" == a ]] && printf '%s:%s\n' "$UNDER_A4" "$PORT_A" || printf '%s:%s\n' "$UNDER_B4" "$PORT_B"
  fi
}

# write_conf SIDE WITH_ENDPOINT: a `wg setconf` file for one side.
write_conf() {
  local side="$1" with_endpoint="$2" f="${WGC_TEST_DIR}/$1.conf"
  if [[ "$side" == a ]]; then
    printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nAllowedIPs = %s/32, %s/128\n' \
      "$(cat "${WGC_TEST_DIR}/a.key")" "$PORT_A" "$KEY_B_PUB" "$TUN_B4" "$TUN_B6" >"$f"
  else
    printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n[Peer]\nPublicKey = %s\nAllowedIPs = %s/32, %s/128\n' \
      "$(cat "${WGC_TEST_DIR}/b.key")" "$PORT_B" "$KEY_A_PUB" "$TUN_A4" "$TUN_A6" >"$f"
  fi
  [[ "$with_endpoint" == yes ]] && printf 'Endpoint = %s\n' "$(endpoint_of "$([[ $side == a ]] && echo b || echo a)")" >>"$f"
  printf '%s\n' "$f"
}

# pair_configure INITIATOR: configure both sides with `wg setconf`; only INITIATOR (a, b or both)
# knows the other's endpoint, so the first handshake can only come from it.
pair_configure() {
  local initiator="${1:-both}" ea=no eb=no
  [[ "$initiator" == a || "$initiator" == both ]] && ea=yes
  [[ "$initiator" == b || "$initiator" == both ]] && eb=yes
  ns_exec "$NS_A" wg setconf "$IF_A" "$(write_conf a "$ea")" || fail "wg setconf on side a"
  ns_exec "$NS_B" wg setconf "$IF_B" "$(write_conf b "$eb")" || fail "wg setconf on side b"
}

# pair_stop SIDE: stops SIDE's daemon and waits until its interface is gone.
pair_stop() {
  local side="$1" ns="$NS_A" iface="$IF_A" pid="${PID_A:-}"
  [[ "$side" == b ]] && ns="$NS_B" iface="$IF_B" pid="${PID_B:-}"
  stop_pid "$pid"
  wait_for 5 sh -c "! ip -n $ns link show $iface" || fail "${side}'s interface survived its daemon"
}

# pair_start_configured SIDE: starts SIDE's daemon again with its tunnel addresses and re-applies
# the configuration pair_configure wrote, with `wg setconf`, as an administrator would.
pair_start_configured() {
  local side="$1" ns="$NS_A" iface="$IF_A"
  [[ "$side" == b ]] && ns="$NS_B" iface="$IF_B"
  tunnel_up "$side"
  ns_exec "$ns" wg setconf "$iface" "${WGC_TEST_DIR}/${side}.conf" || fail "wg setconf on restarted ${side}"
}

# pair_restart SIDE: pair_stop, then pair_start_configured.
pair_restart() {
  pair_stop "$1"
  pair_start_configured "$1"
}

# dump_field NS IFACE FIELD: a field of the single peer line of `wg show IFACE dump`
# (1 public key, 2 psk, 3 endpoint, 4 allowed ips, 5 latest handshake, 6 rx, 7 tx, 8 keepalive).
dump_field() {
  ns_exec "$1" wg show "$2" dump | awk -v f="$3" 'NR == 2 { print $f }'
}

# iperf_tcp FROM_NS TO_NS TO_ADDR SECONDS [STREAMS]: prints the receiver's bits/s.
iperf_tcp() {
  local from="$1" to="$2" addr="$3" secs="$4" streams="${5:-1}" port=$((5201 + RANDOM % 1000))
  ns_spawn "$to" "iperf_server_${port}" iperf3 -s -1 -p "$port"
  local server=$WGC_LAST_PID
  wait_for 5 ns_exec "$to" sh -c "ss -ltn | grep -q :${port}" || fail "iperf3 server did not start"
  ns_exec "$from" iperf3 -c "$addr" -p "$port" -t "$secs" -P "$streams" -J >"${WGC_TEST_DIR}/iperf_${port}.json" ||
    fail "iperf3 client failed"
  stop_pid "$server"
  python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"]))' \
    "${WGC_TEST_DIR}/iperf_${port}.json"
}

# transfer_check FROM_NS TO_NS TO_ADDR MBYTES: send MBYTES of random data over TCP and compare
# SHA-256 on both ends (data integrity through the tunnel).
transfer_check() {
  local from="$1" to="$2" addr="$3" mb="$4" port=$((6201 + RANDOM % 1000))
  # A port drawn twice in one test would find the earlier sink's result already there.
  rm -f "${WGC_TEST_DIR}/sink_${port}.sha" "${WGC_TEST_DIR}/sink_${port}.sha.data"
  head -c "$((mb * 1024 * 1024))" /dev/urandom >"${WGC_TEST_DIR}/payload"
  local want got
  want="$(sha256sum <"${WGC_TEST_DIR}/payload" | cut -d' ' -f1)"
  ns_spawn "$to" "sink_${port}" python3 -c '
import hashlib, os, socket, sys
s = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1)
c, _ = s.accept(); h = hashlib.sha256(); got = bytearray()
while True:
    b = c.recv(1 << 16)
    if not b: break
    h.update(b); got += b
open(sys.argv[3] + ".data", "wb").write(got)
open(sys.argv[3] + ".tmp", "w").write(h.hexdigest())
os.rename(sys.argv[3] + ".tmp", sys.argv[3])' "$addr" "$port" "${WGC_TEST_DIR}/sink_${port}.sha"
  local sink=$WGC_LAST_PID
  wait_for 5 ns_exec "$to" sh -c "ss -ltn | grep -q :${port}" || fail "sink did not start"
  ns_exec "$from" python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=30)
with open(sys.argv[3], "rb") as f:
    s.sendall(f.read())
s.close()' "$addr" "$port" "${WGC_TEST_DIR}/payload" || fail "transfer to ${addr} failed"
  wait_for 20 test -s "${WGC_TEST_DIR}/sink_${port}.sha" || fail "sink never finished"
  got="$(cat "${WGC_TEST_DIR}/sink_${port}.sha")"
  stop_pid "$sink"
  if [[ "$got" != "$want" ]]; then
    # Where the streams part: which byte ranges differ, and where the received bytes came from.
    python3 "${WGC_ROOT}/tests/lib/stream_diff.py" "${WGC_TEST_DIR}/payload" "${WGC_TEST_DIR}/sink_${port}.sha.data" >&2 || true
    # Segments that failed the receiver's TCP checksum: many means corrupted packets arrive and
    # one passed by chance; none means the corrupted data came with a valid checksum.
    echo "receiver's TCP checksum errors: $(ns_exec "$to" nstat -az TcpInCsumErrors | awk '/TcpInCsumErrors/ { print $2 }')" >&2
    fail "data corrupted through the tunnel: sent ${want}, received ${got}"
  fi
  rm -f "${WGC_TEST_DIR}/sink_${port}.sha.data"
}
