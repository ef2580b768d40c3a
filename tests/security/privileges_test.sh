#!/bin/bash
# wgcored's privileges after setup, read from /proc/PID/task/*/status (every thread: capabilities
# are per thread):
#   1. as root by default: only CAP_NET_ADMIN and CAP_NET_BIND_SERVICE (effective = permitted =
#      bounding), no_new_privs, and runtime reconfiguration that needs them (fwmark, a port below
#      1024) still works;
#   2. --drop-all-caps: no capability at all; fwmark and port-below-1024 changes fail as documented;
#   3. --user/--group: the ids change in every thread and the two capabilities survive the switch;
#   4. started as uid 65534 without any capability on a persistent TUN that uid owns (UAPI socket
#      in a private mount namespace's /var/run/wireguard owned by that uid): it handshakes with a
#      root wgcored and passes ping;
#   5. the crypto helper threads, started under load after the drop, have no more than that.
set -uo pipefail
source "${WGCORE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/netns.sh"
source "$(dirname "$0")/sec_lib.sh"
require_tun
require_cmd wg setpriv unshare nsenter
WGCORED="${WGCORED:-${WGCORE_BUILD_ROOT:-${WGC_ROOT}/build}/tools/wgcored}"
[[ -x "$WGCORED" ]] || fail "wgcored not built at ${WGCORED}"
NOBODY=65534

# start_wgcored NS IFACE NAME [OPTION...]: wgcored in the foreground; waits for its socket.
start_wgcored() {
  local ns="$1" iface="$2" name="$3"
  shift 3
  ns_spawn "$ns" "$name" env LOG_LEVEL=debug "$WGCORED" -f "$@" "$iface"
  DAEMON=$WGC_LAST_PID
  wait_for 10 test -S "/var/run/wireguard/${iface}.sock" || fail "${name}: no UAPI socket"
}

# caps_of PID: a one-line summary for the log.
caps_of() {
  printf 'uid=%s CapEff=%s CapPrm=%s CapBnd=%s NoNewPrivs=%s threads=%s' "$(uid_of "$1" | cut -d' ' -f1)" \
    "$(task_field "$1" CapEff | sort -u | tr '\n' ,)" "$(task_field "$1" CapPrm | sort -u | tr '\n' ,)" \
    "$(task_field "$1" CapBnd | sort -u | tr '\n' ,)" "$(task_field "$1" NoNewPrivs | sort -u | tr '\n' ,)" \
    "$(ls "/proc/$1/task" | wc -l)"
}

NS="$(ns_create priv)"
IF="sp${WGC_NS_SUFFIX}"
IF="${IF:0:15}"
umask 077
wg genkey >"${WGC_TEST_DIR}/k1"

# --- 1. root, default: CAP_NET_ADMIN + CAP_NET_BIND_SERVICE ------------------------------------
start_wgcored "$NS" "$IF" root_default
n="$(expect_all_threads "$DAEMON" CapEff "$CAPS_KEPT")"
[[ "$n" -ge 2 ]] || fail "expected the device's threads besides main, saw ${n} thread(s)"
expect_all_threads "$DAEMON" CapPrm "$CAPS_KEPT" >/dev/null
expect_all_threads "$DAEMON" CapBnd "$CAPS_KEPT" >/dev/null
expect_all_threads "$DAEMON" CapInh "$CAPS_NONE" >/dev/null
expect_all_threads "$DAEMON" CapAmb "$CAPS_NONE" >/dev/null
expect_all_threads "$DAEMON" NoNewPrivs 1 >/dev/null
echo "root default: $(caps_of "$DAEMON")"
# Runtime reconfiguration after the drop: a new port (rebind), a fwmark (SO_MARK), a low port.
ns_exec "$NS" wg set "$IF" private-key "${WGC_TEST_DIR}/k1" listen-port 51999 fwmark 0x5ec ||
  fail "root default: wg set listen-port + fwmark failed after the drop"
[[ "$(ns_exec "$NS" wg show "$IF" fwmark)" == 0x5ec ]] || fail "root default: fwmark not applied"
ns_exec "$NS" wg set "$IF" listen-port 500 || fail "root default: port 500 failed after the drop"
[[ "$(ns_exec "$NS" wg show "$IF" listen-port)" == 500 ]] || fail "root default: port 500 not applied"
# A UAPI connection opened now starts a thread after the drop: it must inherit the reduced set.
ns_exec "$NS" wg show "$IF" >/dev/null || fail "wg show"
expect_all_threads "$DAEMON" CapEff "$CAPS_KEPT" >/dev/null
stop_pid "$DAEMON"
pass "root default keeps only CAP_NET_ADMIN + CAP_NET_BIND_SERVICE in all ${n} threads; fwmark and port changes work"

# --- 2. --drop-all-caps ------------------------------------------------------------------------
start_wgcored "$NS" "$IF" root_dropall --drop-all-caps
expect_all_threads "$DAEMON" CapEff "$CAPS_NONE" >/dev/null
expect_all_threads "$DAEMON" CapPrm "$CAPS_NONE" >/dev/null
expect_all_threads "$DAEMON" CapBnd "$CAPS_NONE" >/dev/null
echo "root --drop-all-caps: $(caps_of "$DAEMON")"
ns_exec "$NS" wg set "$IF" listen-port 52000 || fail "--drop-all-caps: port change above 1024 failed"
if ns_exec "$NS" wg set "$IF" fwmark 0x5ec 2>/dev/null; then
  fail "--drop-all-caps: a fwmark change succeeded without CAP_NET_ADMIN"
fi
if ns_exec "$NS" wg set "$IF" listen-port 500 2>/dev/null; then
  fail "--drop-all-caps: port 500 bound without CAP_NET_BIND_SERVICE"
fi
stop_pid "$DAEMON"
pass "--drop-all-caps keeps no capability; ports above 1024 work, fwmark and port 500 fail (documented)"

# --- 3. --user/--group ---------------------------------------------------------------------------
start_wgcored "$NS" "$IF" root_user --user "$NOBODY" --group "$NOBODY"
for t in /proc/"$DAEMON"/task/*; do
  [[ "$(awk '$1 == "Uid:" { print $2 $3 $4 $5 }' "$t/status")" == "${NOBODY}${NOBODY}${NOBODY}${NOBODY}" ]] ||
    fail "--user: thread ${t##*/} still has uids $(awk '$1 == "Uid:"' "$t/status")"
  [[ "$(awk '$1 == "Gid:" { print $2 $3 $4 $5 }' "$t/status")" == "${NOBODY}${NOBODY}${NOBODY}${NOBODY}" ]] ||
    fail "--user: thread ${t##*/} still has gids"
  [[ -z "$(awk '$1 == "Groups:" { print $2 }' "$t/status")" ]] || fail "--user: supplementary groups left"
done
expect_all_threads "$DAEMON" CapEff "$CAPS_KEPT" >/dev/null
expect_all_threads "$DAEMON" CapPrm "$CAPS_KEPT" >/dev/null
echo "root --user ${NOBODY}: $(caps_of "$DAEMON")"
ns_exec "$NS" wg set "$IF" private-key "${WGC_TEST_DIR}/k1" fwmark 0x77 ||
  fail "--user: fwmark change failed though CAP_NET_ADMIN was kept"
ns_exec "$NS" wg set "$IF" listen-port 501 || fail "--user: port 501 failed though CAP_NET_BIND_SERVICE was kept"
stop_pid "$DAEMON"
# As wgcored(8) says, a daemon that switched to a user who may not write the socket directory
# cannot remove its socket at exit; the next start would. Remove it here, so that the wait for
# the next daemon's socket below cannot see this one.
rm -f "/var/run/wireguard/${IF}.sock"
pass "--user/--group: every thread runs as ${NOBODY} with CAP_NET_ADMIN + CAP_NET_BIND_SERVICE only"

# --- 4. never root: uid 65534 on a persistent TUN it owns --------------------------------------
NS_R="$(ns_create peer)"
ns_veth "$NS" veth0 "$NS_R" veth0 198.51.100.1/24 198.51.100.2/24
IF_R="sr${WGC_NS_SUFFIX}"
IF_R="${IF_R:0:15}"
ip -n "$NS" tuntap add dev "$IF" mode tun user "$NOBODY" group "$NOBODY" || fail "ip tuntap add"
ip -n "$NS" addr add 203.0.113.1/24 dev "$IF"
ip -n "$NS" link set "$IF" mtu 1420 up
# uid 65534 runs its own copy of wgcored: the build tree may sit where it cannot look (a clone
# under /root, mode 0700 on Debian, as on a fresh machine).
NOBODY_BIN="$(mktemp -d /tmp/wgc-nobody-bin.XXXXXX)"
on_exit rm -rf "$NOBODY_BIN"
chmod 0755 "$NOBODY_BIN"
install -m 0755 "$WGCORED" "$NOBODY_BIN/wgcored"
# The socket directory is a tmpfs private to the daemon's mount namespace and owned by the
# daemon's uid: stock `wg` reaches it through nsenter, and nothing outlives the test.
ns_spawn "$NS" nobody unshare -m --propagation private sh -c '
  mount -t tmpfs -o mode=0755,size=64k tmpfs /var/run || exit 1
  mkdir -m 0700 /var/run/wireguard && chown "$1:$1" /var/run/wireguard || exit 1
  exec setpriv --reuid="$1" --regid="$1" --clear-groups --inh-caps=-all \
    env LOG_LEVEL=debug "$2" -f "$3"' sh "$NOBODY" "$NOBODY_BIN/wgcored" "$IF"
NOBODY_PID=$WGC_LAST_PID
in_daemon_ns() { nsenter -t "$NOBODY_PID" -m -n "$@"; }
# The PID is `ip netns exec`, then unshare, sh and setpriv before it is wgcored: wait for the
# uids first, so the socket check runs in the daemon's own mount namespace (its tmpfs).
daemon_uids() { [[ "$(uid_of "$NOBODY_PID")" == "${NOBODY} ${NOBODY} ${NOBODY} ${NOBODY}" ]]; }
wait_for 10 daemon_uids || fail "not running as ${NOBODY}: uids $(uid_of "$NOBODY_PID")"
wait_for 10 in_daemon_ns test -S "/var/run/wireguard/${IF}.sock" || fail "non-root wgcored: no UAPI socket"
expect_all_threads "$NOBODY_PID" CapEff "$CAPS_NONE" >/dev/null
expect_all_threads "$NOBODY_PID" CapPrm "$CAPS_NONE" >/dev/null
expect_all_threads "$NOBODY_PID" NoNewPrivs 1 >/dev/null
echo "non-root: $(caps_of "$NOBODY_PID")"
[[ "$(in_daemon_ns stat -c '%a %u' "/var/run/wireguard/${IF}.sock")" == "600 ${NOBODY}" ]] ||
  fail "non-root socket mode/owner: $(in_daemon_ns stat -c '%a %u' "/var/run/wireguard/${IF}.sock")"

start_wgcored "$NS_R" "$IF_R" root_peer
ip -n "$NS_R" addr add 203.0.113.2/24 dev "$IF_R"
ip -n "$NS_R" link set "$IF_R" up
wg genkey >"${WGC_TEST_DIR}/kr"
in_daemon_ns wg set "$IF" private-key "${WGC_TEST_DIR}/k1" listen-port 51820 \
  peer "$(wg pubkey <"${WGC_TEST_DIR}/kr")" allowed-ips 203.0.113.2/32 ||
  fail "configuring the non-root daemon"
ns_exec "$NS_R" wg set "$IF_R" private-key "${WGC_TEST_DIR}/kr" listen-port 51821 \
  peer "$(wg pubkey <"${WGC_TEST_DIR}/k1")" allowed-ips 203.0.113.1/32 endpoint 198.51.100.1:51820 ||
  fail "configuring the root peer"
wait_for 10 ns_exec "$NS_R" ping -c1 -W1 203.0.113.1 || fail "no ping to the non-root wgcored"
ns_exec "$NS" ping -c3 -i0.2 -W1 203.0.113.2 >/dev/null || fail "no ping from the non-root side"
hs="$(in_daemon_ns wg show "$IF" latest-handshakes | awk '{ print $2 }')"
[[ "${hs:-0}" -gt 0 ]] || fail "the non-root daemon reports no handshake"
expect_all_threads "$NOBODY_PID" CapEff "$CAPS_NONE" >/dev/null
pass "uid ${NOBODY} with no capabilities on a pre-created TUN: handshake and ping"

# --- 5. crypto helper threads ----------------------------------------------------------------------
# Bulk TCP makes both daemons seal and open on helper threads, started by the loop thread long
# after the privilege drop: they must have inherited it (no capability regained, no_new_privs).
threads_of() { ls "/proc/$1/task" | wc -l; }
base_nobody="$(threads_of "$NOBODY_PID")" base_root="$(threads_of "$DAEMON")"
ns_spawn "$NS" iperf_server iperf3 -s -1 -p 5299
iperf_server=$WGC_LAST_PID
wait_for 5 ns_exec "$NS" sh -c "ss -ltn | grep -q :5299" || fail "iperf3 server did not start"
ns_spawn "$NS_R" iperf_client iperf3 -c 203.0.113.1 -p 5299 -t 4 --bidir
iperf_client=$WGC_LAST_PID
max_nobody=0 max_root=0
for _ in $(seq 20); do
  sleep 0.2
  n="$(threads_of "$NOBODY_PID")" && [[ $n -gt $max_nobody ]] && max_nobody=$n
  n="$(threads_of "$DAEMON")" && [[ $n -gt $max_root ]] && max_root=$n
  expect_all_threads "$NOBODY_PID" CapEff "$CAPS_NONE" >/dev/null
  expect_all_threads "$NOBODY_PID" CapPrm "$CAPS_NONE" >/dev/null
  expect_all_threads "$NOBODY_PID" NoNewPrivs 1 >/dev/null
  expect_all_threads "$DAEMON" CapEff "$CAPS_KEPT" >/dev/null
  expect_all_threads "$DAEMON" CapBnd "$CAPS_KEPT" >/dev/null
  expect_all_threads "$DAEMON" NoNewPrivs 1 >/dev/null
done
stop_pid "$iperf_client"
stop_pid "$iperf_server"
echo "threads under load: non-root ${base_nobody} -> ${max_nobody}, root ${base_root} -> ${max_root}"
[[ "$max_nobody" -gt "$base_nobody" && "$max_root" -gt "$base_root" ]] ||
  fail "no crypto helper thread started under bulk TCP (threads: non-root ${base_nobody} -> ${max_nobody}, root ${base_root} -> ${max_root})"
pass "crypto helper threads started under load inherit the dropped privileges"
