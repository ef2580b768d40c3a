#!/bin/bash
# frr suite: docs/frr-wgd.md's three-site guide, as written. Sites B and C come from lib.sh;
# site A is built only by the guide's blocks tagged site-a-* (extracted from the Markdown and run
# as root in A's namespace, with /etc/frr, /etc/wireguard, /run/wireguard and /run/frr-wgd
# private to it, and /var/run/frr holding A's FRR sockets), on a fresh FRR that has nothing but a
# hostname. Then the guide's own checks: B's LAN imported, a ping from A's LAN address to B's
# LAN, C's default route kept out of BGP and the FIB, C's hijack refused.
set -u
source "$(dirname "$0")/lib.sh"
GUIDE="${WGCORE_SOURCE_ROOT}/docs/frr-wgd.md"
block() { python3 "${WGCORE_SOURCE_ROOT}/tests/lib/md_blocks.py" "$GUIDE" "$1" || fail "guide block $1 missing"; }
for d in /etc/frr /etc/wireguard; do [[ -d "$d" ]] || fail "$d missing (packages frr, wireguard-tools)"; done
# Mount points for A's private mounts; the test removes those it had to create.
for m in /run/wireguard /run/frr-wgd /run/frr; do
  [[ -d "$m" ]] || { mkdir "$m" && on_exit "rmdir '$m' 2>/dev/null"; }
done

sites_underlay
IFN[a]=wg0   # the guide's name; the mount namespace below keeps its UAPI socket private
for s in b c; do wg_up "$s"; write_fw_conf "$s"; write_frr_conf "$s"; done
for s in b c; do fw_up "$s"; done
d="$(site_dir a)"
for f in zebra bgpd; do echo "hostname site-a" >"$d/$f.conf"; done
chown frr:frr "$d"/*.conf
zebra_up a
bgpd_up a
for s in b c; do zebra_up "$s"; bgpd_up "$s"; done
on_exit 'for p in "${PID_ZEBRA[@]}" "${PID_BGPD[@]}"; do rm -rf /var/tmp/frr/zebra.$p /var/tmp/frr/bgpd.$p; done'

# Site A's administrator: a mount namespace held by a sleeping process, entered for every step.
mkdir -p "$d/etc-frr" "$d/etc-wg"
cp "$d/wg.key" "$d/etc-wg/a.key"
# What the frr package installed in /etc/frr, as on a fresh machine (vtysh reads vtysh.conf).
cp -p /etc/frr/vtysh.conf "$d/etc-frr/" 2>/dev/null || : >"$d/etc-frr/vtysh.conf"
spawn a-mounts unshare -m --propagation private bash -c "
  mount --bind '$d/etc-frr' /etc/frr && mount --bind '$d/etc-wg' /etc/wireguard &&
  mount -t tmpfs -o mode=0755 tmpfs /run/wireguard && mount -t tmpfs -o mode=0755 tmpfs /run/frr-wgd &&
  mount --bind '$d' /run/frr && echo mounted && exec sleep 3600"
HOLDER=$WGC_LAST_PID
wait_for 5 grep -q mounted "$WGC_TEST_DIR/a-mounts.log" || fail "site A's mount namespace"
PATH_A="$(dirname "$WGCORED"):$(dirname "$FRR_WGD"):$PATH"
as_admin_a() { # as_admin_a SCRIPT: the guide's shell at site A
  nsenter -t "$HOLDER" -m ip netns exec "${NS[a]}" env PATH="$PATH_A" B="${PUB[b]}" C="${PUB[c]}" \
    bash -euo pipefail -c "$1"
}
run_block() {
  local tag="$1" out
  echo "--- guide: ${tag}"
  block "$tag" | sed 's/^/    /'
  # Into a file, not $(...): `wgcored wg0` daemonizes and keeps the output open.
  as_admin_a "$(block "$tag")" >"$WGC_TEST_DIR/${tag}.out" 2>&1 ||
    { cat "$WGC_TEST_DIR/${tag}.out"; fail "guide block ${tag} failed"; }
  cat "$WGC_TEST_DIR/${tag}.out"
  GUIDE_OUT="$(cat "$WGC_TEST_DIR/${tag}.out")"
}

run_block site-a-wireguard
# `wgcored wg0` daemonizes: the test ends it by PID like everything else it started.
for p in $(ip netns pids "${NS[a]}"); do
  [[ "$(readlink "/proc/$p/exe")" == "$(readlink -f "$WGCORED")" ]] && _wgc_register_pid "$p"
done
run_block site-a-frr-wgd
grep -q "OK: 1 interface(s), 2 peer(s)" <<<"$GUIDE_OUT" || fail "frr-wgd check did not pass the guide's file"
# The unit's ExecStart, in A's mount namespace (default paths: /etc/frr/frr-wgd.conf, /run/frr-wgd).
spawn frr-wgd-a nsenter -t "$HOLDER" -m ip netns exec "${NS[a]}" "$FRR_WGD" daemon
wait_for 10 as_admin_a 'test -S /run/frr-wgd/frr-wgd.sock' || fail "frr-wgd (a) did not start"
run_block site-a-frr
grep -E '^%|[Uu]nknown command|Failure' <<<"$GUIDE_OUT" && fail "FRR refused a line of the guide's configuration"
! frr_config_errors a || fail "FRR at site A logged configuration errors"
for s in a b c; do wait_for 30 bgp_established "$s" || fail "BGP sessions of site $s not established"; done
pass "the guide's steps 1-3 ran as written at site A: WireGuard, frr-wgd, FRR (no error), all sessions up"

# Step 4, as the guide says. A's UAPI socket is in A's mount namespace: ask there.
a_has_allowed() { as_admin_a "wg show wg0 allowed-ips" | awk -v k="${PUB[b]}" '$1 == k' | grepq -F " $1"; }
wait_for 20 a_has_allowed 198.18.2.0/24 || { as_admin_a "wg show wg0"; fail "198.18.2.0/24 not imported for B at A"; }
wait_for 20 a_has_allowed 2001:db8:102::/64 || fail "2001:db8:102::/64 not imported for B at A"
wait_for 20 has_allowed b a 198.18.1.0/24 || fail "B did not import A's LAN (the way back)"
wait_for 10 ns_exec "${LAN[a]}" ping -c1 -W1 198.18.2.2 >/dev/null || fail "LAN A never reached LAN B"
run_block site-a-check
grep -q "198.18.2.0/24" <<<"$GUIDE_OUT" || fail "show imported lacks 198.18.2.0/24"
grep -q " 0% packet loss" <<<"$GUIDE_OUT" || fail "the guide's ping lost packets"
ns_exec "${LAN[a]}" ping -c2 -W2 198.18.2.2 >/dev/null || fail "a host on LAN A cannot reach LAN B"
# C's announcements of step 4, once frr-wgd has written its guard into A's FRR (frr-vtysh).
wait_for 15 vty_has a 'show ip prefix-list FRR-WGD-GUARD4-site-c' '198.51.100.2/32' ||
  fail "frr-wgd did not write its guard into A's FRR"
vty c 'configure terminal' 'router bgp 65003' 'address-family ipv4 unicast' \
  'network 198.18.2.0/24' 'network 198.18.22.128/25' 'network 0.0.0.0/0' >/dev/null
refused_a() { as_admin_a 'frr-wgd show refused json' | jpy "
sys.exit(0 if any(x['peer'] == 'site-c' and x['prefix'] == '$1' and x['rule'] == '$2' for x in d) else 1)"; }
wait_for 10 vty_has c 'show bgp ipv4 unicast 198.18.22.128/25 json' '"paths"' || fail "C does not announce 198.18.22.128/25"
wait_for 10 refused_a 198.18.2.0/24 owned-by-peer || fail "198.18.2.0/24 from C not refused as owned-by-peer"
wait_for 10 vty_has c 'show bgp ipv4 unicast 0.0.0.0/0 json' '"paths"' || fail "C does not announce 0.0.0.0/0"
for p in 0.0.0.0/0 198.18.22.128/25; do
  vty a "show bgp ipv4 unicast $p json" | jpy 'sys.exit(1 if d.get("paths") else 0)' || fail "$p from C got past A's bgpd"
  ip -n "${NS[a]}" route show exact "$p" | grepq . && fail "$p from C reached A's FIB"
done
grep -q "% Network not in table" <<<"$(vty a 'show bgp ipv4 unicast 198.18.22.128/25')" || fail "the guide's vtysh check differs"
ip -n "${NS[a]}" route show default | grepq wg0 && fail "C's default route reached A's FIB"
ns_exec "${LAN[a]}" ping -c2 -W2 198.18.2.2 >/dev/null || fail "LAN B unreachable while C announces it"
pass "the guide's step 4: B's LAN imported, ping from LAN A to LAN B; C's claim refused by frr-wgd, its hijack and default route denied by bgpd, in no FIB"
