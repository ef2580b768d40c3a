# shellcheck shell=bash source=tests/kernel/guest_lib.sh
# guest_interop.sh: runs inside the QEMU guest (run_in_qemu.sh) as root, under bash. Kernel
# WireGuard in netns wgc-k (configured through our netlink code) <-> wgcored in netns wgc-u
# (configured over its UAPI socket), over a veth pair: ping both ways, once with the kernel
# initiating the handshake and once with wgcored initiating.
set -euo pipefail
source /test/guest_lib.sh

guest_topology
kernel_up
wgcored_up
sleep 1  # IPv6 DAD on the tunnel addresses

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
ip netns exec wgc-k wg show wgk endpoints | grepq 198.51.100.2:51821 ||
  fail "kernel did not learn the endpoint from wgcored's handshake"
pass "wgcored initiated: ping both ways, IPv4 and IPv6; kernel learned the endpoint"

wgcored_down
ip netns exec wgc-k "$kbt" delete wgk
echo "GUEST_INTEROP_OK"
