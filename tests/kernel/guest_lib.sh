# guest_lib.sh: sourced by the guest scripts that run inside the QEMU guest (run_in_qemu.sh copies
# it next to them as /test/guest_lib.sh). Kernel WireGuard `wgk` in netns wgc-k, configured
# through our netlink code (kernel_backend_test), and wgcored `wgu` in netns wgc-u, configured
# over its UAPI socket by the same library call, joined by the veth pair veth-k/veth-u
# (198.51.100.1 / .2), tunnel 10.77.0.1 / .2 and fd77::1 / ::2.
# shellcheck shell=bash
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

# kernel_up: the kernel device wgk, configured through our netlink code, addresses, up.
kernel_up() {
  ip netns exec wgc-k "$kbt" create wgk
  ip netns exec wgc-k "$kbt" set wgk <<EOF2 || fail "configuring the kernel device"
private_key=$(hex </tmp/k.key)
listen_port=51820
public_key=$(hex <<<"$upub")
endpoint=198.51.100.2:51821
allowed_ip=10.77.0.2/32
allowed_ip=fd77::2/128
EOF2
  ip -n wgc-k addr add 10.77.0.1/24 dev wgk
  ip -n wgc-k addr add fd77::1/64 dev wgk
  ip -n wgc-k link set wgk up
}

# wgcored_up: wgcored serving wgu (wgcored_pid), configured over UAPI, addresses, up.
wgcored_up() {
  ip netns exec wgc-u wgcored -f wgu >>/tmp/wgcored.log 2>&1 &
  wgcored_pid=$!
  for _ in $(seq 50); do [[ -S /var/run/wireguard/wgu.sock ]] && break; sleep 0.1; done
  [[ -S /var/run/wireguard/wgu.sock ]] || { cat /tmp/wgcored.log; fail "wgcored did not start"; }
  [[ $(ip netns exec wgc-u "$kbt" backend wgu) == uapi:* ]] || fail "wgu not served over UAPI"
  ip netns exec wgc-u "$kbt" set wgu <<EOF2 || fail "configuring wgcored"
private_key=$(hex </tmp/u.key)
listen_port=51821
public_key=$(hex <<<"$kpub")
endpoint=198.51.100.1:51820
allowed_ip=10.77.0.1/32
allowed_ip=fd77::1/128
EOF2
  ip -n wgc-u addr add 10.77.0.2/24 dev wgu
  ip -n wgc-u addr add fd77::2/64 dev wgu
  ip -n wgc-u link set wgu up
}

# wgcored_down: SIGTERM to wgcored and wait (it removes wgu).
wgcored_down() {
  kill "$wgcored_pid"
  wait "$wgcored_pid" 2>/dev/null || true
}
