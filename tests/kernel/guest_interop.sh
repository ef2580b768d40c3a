# guest_interop.sh: runs inside the QEMU guest (run_in_qemu.sh) as root, under bash. Kernel
# WireGuard in netns wgc-k (configured through our netlink code) <-> wgcored in netns wgc-u
# (configured over its UAPI socket), over a veth pair: ping both ways, once with the kernel
# initiating the handshake and once with wgcored initiating.
set -euo pipefail
kbt=kernel_backend_test
fail() { echo "FAIL: $*"; ip netns exec wgc-k wg show all dump 2>&1 || true; exit 1; }
pass() { echo "ok - $*"; }
umask 077

ip netns add wgc-k
ip netns add wgc-u
ip link add veth-k netns wgc-k type veth peer name veth-u netns wgc-u
ip -n wgc-k addr add 198.51.100.1/24 dev veth-k
ip -n wgc-u addr add 198.51.100.2/24 dev veth-u
for ns in wgc-k wgc-u; do ip -n $ns link set lo up; done
ip -n wgc-k link set veth-k up
ip -n wgc-u link set veth-u up

wg genkey >/tmp/k.key
wg genkey >/tmp/u.key
kpub=$(wg pubkey </tmp/k.key)
upub=$(wg pubkey </tmp/u.key)
hex() { base64 -d | od -An -tx1 -v | tr -d ' \n'; }

# Kernel side: link and configuration through our code (rtnetlink + genl).
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

# Userspace side: wgcored, configured through the same library call (UAPI backend).
ip netns exec wgc-u wgcored -f wgu >/tmp/wgcored.log 2>&1 &
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
sleep 1  # IPv6 DAD on the tunnel addresses

handshake() { ip netns exec "$1" wg show "$2" latest-handshakes | awk '{print $2}'; }

# Round 1: the kernel initiates.
ip netns exec wgc-k ping -c 2 -W 5 10.77.0.2 >/dev/null || fail "kernel -> wgcored ping (IPv4)"
ip netns exec wgc-k ping -c 1 -W 5 fd77::2 >/dev/null || fail "kernel -> wgcored ping (IPv6)"
ip netns exec wgc-u ping -c 2 -W 5 10.77.0.1 >/dev/null || fail "wgcored -> kernel ping"
[[ $(handshake wgc-k wgk) != 0 ]] || fail "no handshake recorded by the kernel"
stats=$(ip netns exec wgc-k "$kbt" dump wgk | sed -n 2p)
rx=$(cut -f6 <<<"$stats"); tx=$(cut -f7 <<<"$stats")
(( rx > 0 && tx > 0 )) || fail "our netlink read shows no traffic (rx=$rx tx=$tx)"
pass "kernel initiated: ping both ways, IPv4 and IPv6 (our read: rx=$rx tx=$tx bytes)"

# Round 2: fresh sessions (peer removed and re-added on both sides), wgcored initiates.
ip netns exec wgc-k wg set wgk peer "$upub" remove
ip netns exec wgc-u wg set wgu peer "$kpub" remove
ip netns exec wgc-k wg set wgk peer "$upub" allowed-ips 10.77.0.2/32,fd77::2/128
ip netns exec wgc-u wg set wgu peer "$kpub" endpoint 198.51.100.1:51820 \
  allowed-ips 10.77.0.1/32,fd77::1/128
[[ $(handshake wgc-k wgk) == 0 ]] || fail "kernel peer kept its handshake"
ip netns exec wgc-u ping -c 2 -W 5 10.77.0.1 >/dev/null || fail "wgcored -> kernel ping"
ip netns exec wgc-k ping -c 2 -W 5 10.77.0.2 >/dev/null || fail "kernel -> wgcored ping (round 2)"
ip netns exec wgc-u ping -c 1 -W 5 fd77::1 >/dev/null || fail "wgcored -> kernel ping (IPv6)"
# The kernel learned wgcored's endpoint from the handshake it received (it had none).
ip netns exec wgc-k wg show wgk endpoints | grep -q 198.51.100.2:51821 ||
  fail "kernel did not learn the endpoint from wgcored's handshake"
pass "wgcored initiated: ping both ways, IPv4 and IPv6; kernel learned the endpoint"

kill "$wgcored_pid"
wait "$wgcored_pid" 2>/dev/null || true
ip netns exec wgc-k "$kbt" delete wgk
echo "GUEST_INTEROP_OK"
