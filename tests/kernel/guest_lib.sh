# guest_lib.sh: sourced by the guest scripts that run inside the QEMU guest (run_in_qemu.sh copies
# it next to them as /test/guest_lib.sh). Kernel WireGuard `wgk` in netns wgc-k, configured
# through our netlink code (kernel_backend_test), and wgcored `wgu` in netns wgc-u, configured
# over its UAPI socket by the same library call, joined by the veth pair veth-k/veth-u
# (198.51.100.1 / .2), tunnel 10.77.0.1 / .2 and fd77::1 / ::2.
# shellcheck shell=bash
# shellcheck source=scripts/lib.sh
source /test/lib.sh
kbt=kernel_backend_test
fail() { echo "FAIL: $*"; ip netns exec wgc-k wg show all dump 2>&1 || true; exit 1; }
pass() { echo "ok - $*"; }
hex() { base64 -d | od -An -tx1 -v | tr -d ' \n'; }
handshake() { ip netns exec "$1" wg show "$2" latest-handshakes | awk '{print $2}'; }

# guest_topology: the two namespaces, the veth pair and the keys (/tmp/k.key, /tmp/u.key;
# kpub, upub).
guest_topology() {
  umask 077
  ip netns add wgc-k
  ip netns add wgc-u
  ip link add veth-k netns wgc-k type veth peer name veth-u netns wgc-u
  ip -n wgc-k addr add 198.51.100.1/24 dev veth-k
  ip -n wgc-u addr add 198.51.100.2/24 dev veth-u
  local ns
  for ns in wgc-k wgc-u; do ip -n "$ns" link set lo up; done
  ip -n wgc-k link set veth-k up
  ip -n wgc-u link set veth-u up
  wg genkey >/tmp/k.key
  wg genkey >/tmp/u.key
  kpub=$(wg pubkey </tmp/k.key)
  upub=$(wg pubkey </tmp/u.key)
}

# device_config PRIVATE-KEY-FILE PORT PEER-PUBLIC-KEY ENDPOINT ALLOWED-IP...: the UAPI set body
# (without set=1) for one side, which kernel_backend_test applies through netlink or UAPI.
device_config() {
  local key=$1 port=$2 peer=$3 endpoint=$4 a
  shift 4
  printf 'private_key=%s\nlisten_port=%s\npublic_key=%s\nendpoint=%s\n' \
    "$(hex <"$key")" "$port" "$(hex <<<"$peer")" "$endpoint"
  for a in "$@"; do printf 'allowed_ip=%s\n' "$a"; done
}

# tunnel_addresses NS IFACE HOST-NUMBER: 10.77.0.N/24 and fd77::N/64 on IFACE, up.
tunnel_addresses() {
  ip -n "$1" addr add "10.77.0.$3/24" dev "$2"
  ip -n "$1" addr add "fd77::$3/64" dev "$2"
  ip -n "$1" link set "$2" up
}

# kernel_up: the kernel device wgk, configured through our netlink code, addresses, up.
kernel_up() {
  ip netns exec wgc-k "$kbt" create wgk
  device_config /tmp/k.key 51820 "$upub" 198.51.100.2:51821 10.77.0.2/32 fd77::2/128 |
    ip netns exec wgc-k "$kbt" set wgk || fail "configuring the kernel device"
  tunnel_addresses wgc-k wgk 1
}

# wgcored_up: wgcored serving wgu (wgcored_pid), configured over UAPI, addresses, up.
wgcored_up() {
  ip netns exec wgc-u wgcored -f wgu >>/tmp/wgcored.log 2>&1 &
  wgcored_pid=$!
  for _ in $(seq 50); do [[ -S /var/run/wireguard/wgu.sock ]] && break; sleep 0.1; done
  [[ -S /var/run/wireguard/wgu.sock ]] || { cat /tmp/wgcored.log; fail "wgcored did not start"; }
  [[ $(ip netns exec wgc-u "$kbt" backend wgu) == uapi:* ]] || fail "wgu not served over UAPI"
  device_config /tmp/u.key 51821 "$kpub" 198.51.100.1:51820 10.77.0.1/32 fd77::1/128 |
    ip netns exec wgc-u "$kbt" set wgu || fail "configuring wgcored"
  tunnel_addresses wgc-u wgu 2
}

# wgcored_down: SIGTERM to wgcored and wait (it removes wgu).
wgcored_down() {
  kill "$wgcored_pid"
  wait "$wgcored_pid" 2>/dev/null || true
}
