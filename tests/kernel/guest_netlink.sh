# guest_netlink.sh: runs inside the QEMU guest (run_in_qemu.sh) as root, under bash. Drives the
# real wireguard module through our netlink code (kernel_backend_test) and checks every result
# against stock `wg`, which reads the kernel through its own netlink code.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source /test/lib.sh
kbt=kernel_backend_test
fail() { echo "FAIL: $*"; exit 1; }
pass() { echo "ok - $*"; }

# Our dump must equal `wg show IF dump` (timestamps and counters included: nothing runs).
same_as_wg() {
  "$kbt" dump "$1" >/tmp/ours
  wg show "$1" dump >/tmp/theirs
  cmp -s /tmp/ours /tmp/theirs || { diff /tmp/theirs /tmp/ours | head -20; fail "$2: dump differs from wg"; }
  pass "$2: our dump equals wg show dump ($(($(wc -l </tmp/ours) - 1)) peers)"
}

"$kbt" available >/dev/null || fail "kernel WireGuard family not found"
"$kbt" create wgk0 || fail "create link"
"$kbt" is-kernel wgk0 || fail "created link is not kind wireguard"
ip -d link show wgk0 | grepq wireguard || fail "ip does not see a wireguard link"
[[ $("$kbt" backend wgk0) == kernel ]] || fail "open_interface did not pick the kernel backend"
pass "link created through rtnetlink; open_interface finds it over netlink"
"$kbt" create wgk0 2>/dev/null && fail "creating an existing link succeeded"

# 1000 peers, each with an endpoint, keepalive, preshared key on every 10th, and two allowed IPs.
umask 077
wg genkey >/tmp/priv
{
  echo "private_key=$(base64 -d </tmp/priv | od -An -tx1 -v | tr -d ' \n')"
  echo "listen_port=51820"
  echo "fwmark=4660"
  echo "replace_peers=true"
  for i in $(seq 1 1000); do
    # Public keys need not be valid points for the kernel to store them.
    printf 'public_key=%064x\n' $((i * 7919 + 1))
    (( i % 10 == 0 )) && printf 'preshared_key=%064x\n' $((i + 5))
    echo "endpoint=192.0.2.$((i % 250 + 1)):$((10000 + i))"
    echo "persistent_keepalive_interval=$((i % 60))"
    echo "allowed_ip=10.$((i / 256)).$((i % 256)).0/24"
    echo "allowed_ip=fd00:$i::/64"
  done
} >/tmp/set1000
time_start=${EPOCHREALTIME/./}
"$kbt" set wgk0 </tmp/set1000 || fail "setting 1000 peers"
time_end=${EPOCHREALTIME/./}
pass "set 1000 peers in $(( (time_end - time_start) / 1000 )) ms"
[[ $(wg show wgk0 peers | wc -l) == 1000 ]] || fail "wg sees $(wg show wgk0 peers | wc -l) peers"
[[ $(wg show wgk0 allowed-ips | wc -w) == 3000 ]] || fail "allowed IPs missing"
[[ $(wg show wgk0 private-key) == "$(cat /tmp/priv)" ]] || fail "private key"
[[ $(wg show wgk0 fwmark) == 0x1234 ]] || fail "fwmark"
same_as_wg wgk0 "1000 peers"

# Changes made by stock wg are read back by us.
p5=$(printf '%064x' $((5 * 7919 + 1)) | xxd -r -p | base64)
p6=$(printf '%064x' $((6 * 7919 + 1)) | xxd -r -p | base64)
wg set wgk0 peer "$p5" allowed-ips 198.51.100.0/24,10.0.5.0/24,fd00:5::/64,203.0.113.128/25 endpoint '[2001:db8::5]:443' \
  persistent-keepalive off
same_as_wg wgk0 "after wg set"

# Updates through us: remove peers, update_only on a missing peer, move a prefix between peers,
# remove single allowed IPs (emulated on this kernel), replace a peer's list.
"$kbt" set wgk0 <<EOF2 || fail "update"
public_key=$(printf '%064x' $((7 * 7919 + 1)))
remove=true
public_key=$(printf '%064x' $((8 * 7919 + 1)))
remove=true
public_key=$(printf '%064x' 999999)
update_only=true
allowed_ip=203.0.113.9/32
public_key=$(printf '%064x' $((6 * 7919 + 1)))
allowed_ip=198.51.100.0/24
public_key=$(printf '%064x' $((9 * 7919 + 1)))
replace_allowed_ips=true
allowed_ip=203.0.113.0/28
public_key=$(printf '%064x' $((5 * 7919 + 1)))
allowed_ip=-fd00:5::/64
allowed_ip=-10.0.5.0/24
EOF2
[[ $(wg show wgk0 peers | wc -l) == 998 ]] || fail "peer removal"
wg show wgk0 allowed-ips | grepq 203.0.113.9 && fail "update_only created a peer"
wg show wgk0 allowed-ips | grep "^$p6" | grepq 198.51.100.0/24 || fail "prefix did not move"
wg show wgk0 allowed-ips | grep "^$p5" | grepq 198.51.100.0/24 && fail "prefix stayed on old peer"
wg show wgk0 allowed-ips | grep "^$p5" | grepq -E 'fd00:5::/64|10.0.5.0/24' &&
  fail "single allowed IPs not removed"
wg show wgk0 allowed-ips | grep "^$p5" | grepq 203.0.113.128/25 ||
  fail "single removal lost another IP"
same_as_wg wgk0 "after removals, moves and single allowed-IP removals"

# Library-level checks against the live kernel (split sets, dump continuation, single-IP
# removal, rollback of a failed apply) on a second device.
"$kbt" create wgk1
ip link set wgk1 up
"$kbt" selftest wgk1 || fail "selftest"
same_as_wg wgk1 "after selftest"

"$kbt" delete wgk1 || fail "delete"
ip link show wgk1 >/dev/null 2>&1 && fail "link still there after delete"
"$kbt" delete wgk1 2>/dev/null && fail "deleting a missing link succeeded"
ip link add dummy0 type veth peer name dummy1 2>/dev/null || true
"$kbt" dump dummy0 2>/dev/null && fail "a veth was read as WireGuard"
"$kbt" delete dummy0 2>/dev/null && fail "delete_interface deleted a veth"
ip link show dummy0 >/dev/null 2>&1 || fail "the veth is gone after a refused delete"
pass "delete; non-WireGuard links refused"
"$kbt" lifecycle wgk2 || fail "Interface lifecycle on the kernel backend"
pass "wgcore::Interface on the kernel backend: MTU, owned removal, keep, delete_interface"
echo "GUEST_NETLINK_OK"
