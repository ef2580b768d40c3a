#!/bin/bash
# wgcore-networkd under its own unit's sandbox (tests/networkd/sandbox_exec.py applies the
# unit's ProtectSystem=strict, ReadWritePaths=, PrivateTmp=, ProtectHome=, DevicePolicy=closed,
# capability bounding set, NoNewPrivileges=, MemoryDenyWriteExecute=, SystemCallFilter=
# @system-service, RestrictAddressFamilies= and RestrictNamespaces=; PID 1 here is not systemd,
# so `systemd-run` cannot): it creates the device, systemd-networkd configures it, a ping
# crosses, `networkctl reload` after an edit reaches the helper, which applies it, writes its
# drop-in and answers; and the running helper really is confined.
set -euo pipefail
source "${WGCORE_SOURCE_ROOT}/tests/networkd/lib.sh"
[[ -f "${WGCORE_NETWORKD_UNIT:-}" ]] || fail "WGCORE_NETWORKD_UNIT (the built unit file) not set"
require_cmd setpriv systemd-analyze
[[ -x /usr/bin/python3 ]] || fail "needs /usr/bin/python3"
export ND_SANDBOX_UNIT="$WGCORE_NETWORKD_UNIT"

nd_init
NS_P="$(ns_create peer)"
ns_veth "$NS_ND" veth0 "$NS_P" veth0 198.51.100.1/24 198.51.100.2/24
PEER="wgp$$"
peer_go "$NS_P" "$PEER" 51821 203.0.113.2/24
gen_key wgs0 >"${ND_ETC}/wgs0.key"
chmod 0640 "${ND_ETC}/wgs0.key"
netdev() {  # the AllowedIPs of the peer
  cat >"${ND_ETC}/50-wgs0.netdev" <<NETDEV
[NetDev]
Name=wgs0
Kind=wireguard

[WireGuard]
PrivateKeyFile=/etc/systemd/network/wgs0.key
ListenPort=51820
RouteTable=main

[WireGuardPeer]
PublicKey=$(pub_key "$PEER")
AllowedIPs=$1
Endpoint=198.51.100.2:51821
NETDEV
}
netdev 203.0.113.2/32
cat >"${ND_ETC}/50-wgs0.network" <<'NETWORK'
[Match]
Name=wgs0

[Network]
Address=203.0.113.1/24
LinkLocalAddressing=no
IPv6AcceptRA=no
NETWORK
ns_exec "$NS_P" wg set "$PEER" peer "$(pub_key wgs0)" allowed-ips 203.0.113.1/32

nd_start wgs0
grepq 'sandbox_exec: .*applied; exec /run/sandbox/wgcore-networkd' <"${WGC_TEST_DIR}/helper.log" ||
  { cat "${WGC_TEST_DIR}/helper.log"; fail "the helper was not started through the sandbox"; }
pid="$(helper_pid)"

# Confined, as seen by the kernel.
st="$(cat "/proc/${pid}/status")"
grepq '^NoNewPrivs:[[:space:]]*1$' <<<"$st" || fail "no_new_privs is not set"
grepq '^Seccomp:[[:space:]]*2$' <<<"$st" || fail "no seccomp filter"
capeff="$(awk '$1 == "CapEff:" { print $2 }' <<<"$st")"
capbnd="$(awk '$1 == "CapBnd:" { print $2 }' <<<"$st")"
# CAP_NET_BIND_SERVICE (10) and CAP_NET_ADMIN (12), nothing else.
[[ "$capbnd" == 0000000000001400 ]] || fail "bounding set ${capbnd}, expected 0000000000001400"
[[ "$capeff" == 0000000000001400 ]] || fail "effective capabilities ${capeff}, expected 0000000000001400"
root_opts="$(awk '$5 == "/" { print $6 }' "/proc/${pid}/mountinfo")"
[[ "$root_opts" == ro* ]] || fail "/ is not read-only for the helper (${root_opts})"
rw_opts="$(awk '$5 == "/run/systemd/network" { print $6 }' "/proc/${pid}/mountinfo" | tail -n1)"
[[ "$rw_opts" == rw* ]] || fail "/run/systemd/network is not writable for the helper (${rw_opts:-no mount})"
awk '$5 == "/tmp" && $9 == "tmpfs" { f = 1 } END { exit !f }' "/proc/${pid}/mountinfo" || fail "no private /tmp"
[[ "$(ls "/proc/${pid}/root/dev" | sort | tr '\n' ' ')" == "full net null random tty urandom zero " ]] ||
  fail "/dev of the helper: $(ls "/proc/${pid}/root/dev" | tr '\n' ' ')"
pass "the helper runs with no_new_privs, a seccomp filter, CAP_NET_ADMIN+CAP_NET_BIND_SERVICE only, / read-only, its own /tmp and /dev"

wait_for 20 nd_configured wgs0 || { ndx networkctl status wgs0 || true; cat "${WGC_TEST_DIR}/helper.log"; fail "networkd did not configure wgs0"; }
wait_for 10 ns_exec "$NS_ND" ping -c1 -W1 203.0.113.2 || fail "no ping through the sandboxed helper's tunnel"
[[ "$(ndx wg show wgs0 allowed-ips | cut -f2)" == 203.0.113.2/32 ]] || fail "allowed IPs: $(ndx wg show wgs0 allowed-ips)"
pass "sandboxed: device created, networkd configured it, ping crosses"

# The way administrators change it: edit, then `networkctl reload`.
netdev "203.0.113.2/32 198.18.9.0/24"
ndx networkctl reload || fail "networkctl reload"
wait_for 15 sh -c "[ \"\$(nsenter -t '$ND_NS_PID' -m -n wg show wgs0 allowed-ips | cut -f2)\" = '203.0.113.2/32 198.18.9.0/24' ]" ||
  fail "the edit did not reach the device: $(ndx wg show wgs0 allowed-ips)"
wait_for 10 sh -c "ip -n '$NS_ND' route show 198.18.9.0/24 | grep -q 'dev wgs0'" || fail "no route for the new AllowedIPs"
kill -0 "$pid" || fail "the helper died"
grepq -E 'Operation not permitted|EPERM|Read-only file system' <"${WGC_TEST_DIR}/helper.log" &&
  { cat "${WGC_TEST_DIR}/helper.log"; fail "the sandbox refused something the helper does"; }
pass "sandboxed: networkctl reload applied the edit (AllowedIPs and route), nothing refused"

# Control: the same sandbox refuses what the unit forbids (else the checks above prove little).
probe() { ns_exec "$NS_ND" unshare -m --propagation private /usr/bin/python3 \
  "${WGCORE_SOURCE_ROOT}/tests/networkd/sandbox_exec.py" "$WGCORE_NETWORKD_UNIT" -- /usr/bin/python3 -c "$1" 2>&1; }
out="$(probe 'import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)' || true)"
grepq 'PermissionError' <<<"$out" || fail "AF_PACKET socket not refused: ${out}"
out="$(probe 'open("/etc/wgcore-sandbox-probe", "w")' || true)"
grepq 'Read-only file system' <<<"$out" || fail "a write to /etc not refused: ${out}"
# A user namespace needs no capability: only RestrictNamespaces= (the filter) refuses it.
out="$(probe 'import ctypes; l = ctypes.CDLL(None, use_errno=True); print("unshare", l.unshare(0x10000000), ctypes.get_errno())' || true)"
[[ "$(tail -n1 <<<"$out")" == "unshare -1 1" ]] || fail "unshare(CLONE_NEWUSER) not refused with EPERM: ${out}"
out="$(probe 'import mmap; mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)' || true)"
grepq 'PermissionError' <<<"$out" || fail "a writable executable mapping not refused: ${out}"
out="$(probe 'import os; print(sorted(os.listdir("/tmp")), os.path.exists("/root/.bashrc"))')"
[[ "$(tail -n1 <<<"$out")" == "[] False" ]] || fail "private /tmp or ProtectHome not in effect: ${out}"
pass "control: the sandbox refuses AF_PACKET, writes to /etc, new namespaces and W+X memory; /tmp and /root are empty"
