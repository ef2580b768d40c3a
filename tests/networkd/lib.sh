# lib.sh: systemd-networkd 252 and wgcore-networkd in a private network + mount namespace, per
# the verified recipe (shared/recipes/networkd-in-netns): private /run, our own
# /etc/systemd/network, /usr/lib/systemd/network and /usr/local/lib/systemd/network, /sys
# read-only (no udev: else every link waits for "udev initialization"), a private dbus-daemon so
# networkctl and our sd-bus calls work. wgcore-networkd starts first, as its unit orders it.
# shellcheck shell=bash
#
#   source "$WGCORE_SOURCE_ROOT/tests/networkd/lib.sh"
#   nd_init                       # namespace $NS_ND, config dirs $ND_ETC $ND_USR $ND_USRLOCAL
#   (write .netdev/.network files into them)
#   nd_start wg0 wg1              # start helper (waits until it serves these), then networkd
#   ndx networkctl status wg0     # any command inside networkd's namespaces
#   nd_reload_helper              # SIGHUP, waits for the reload to finish

# shellcheck source=tests/lib/netns.sh
source "${WGCORE_SOURCE_ROOT}/tests/lib/netns.sh"
require_tun
for c in dbus-daemon networkctl nsenter unshare wg; do require_cmd "$c"; done
[[ -x /lib/systemd/systemd-networkd ]] || skip_or_fail "needs systemd-networkd (package systemd)"
id systemd-network >/dev/null 2>&1 || skip_or_fail "needs the systemd-network user"
WGCORE_NETWORKD="${WGCORE_NETWORKD:-${WGCORE_BUILD_ROOT}/networkd-helper/wgcore-networkd}"
[[ -x "$WGCORE_NETWORKD" ]] || fail "wgcore-networkd not built at ${WGCORE_NETWORKD}"

ND_DIR="${WGC_TEST_DIR}/nd"
ND_ETC="${ND_DIR}/etc-network"
ND_USR="${ND_DIR}/usr-lib-network"
ND_USRLOCAL="${ND_DIR}/usr-local-lib-network"

nd_init() {
  NS_ND="$(ns_create nd)"
  mkdir -p "$ND_ETC" "$ND_USR" "$ND_USRLOCAL" "${ND_DIR}/run"
  on_exit _nd_stop_children
  # sd_notify messages of the helper, one datagram a line ("READY=1 | STATUS=...").
  spawn notify python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        f.write(s.recv(4096).decode(errors="replace").replace("\n", " | ") + "\n")
        f.flush()
' "${ND_DIR}/notify.sock" "${WGC_TEST_DIR}/notify.txt"
  wait_for 5 test -S "${ND_DIR}/notify.sock" || fail "notify listener did not start"
}

# The helper and dbus-daemon are started by the inner script (inside the namespaces), so they
# are ended here by their recorded PIDs, checking the command name first.
_nd_stop_children() {
  local f pid comm
  for f in helper dbus; do
    [[ -f "${ND_DIR}/${f}.pid" ]] || continue
    pid="$(cat "${ND_DIR}/${f}.pid")"
    comm="$(cat "/proc/${pid}/comm" 2>/dev/null)" || continue
    case "$comm" in wgcore-network*|dbus-daemon) kill -TERM "$pid" 2>/dev/null ;; esac
  done
  for _ in $(seq 30); do
    [[ -d "/proc/$(cat "${ND_DIR}/helper.pid" 2>/dev/null)" ]] || break
    sleep 0.1
  done
}

_nd_write_inner() {
  cat >"${ND_DIR}/inner.sh" <<INNER
set -eu
mount --bind "${ND_DIR}/run" /run
mkdir -p /etc/systemd/network /usr/lib/systemd/network
mount --bind "${ND_ETC}" /etc/systemd/network
mount --bind "${ND_USR}" /usr/lib/systemd/network
if [[ -d /usr/local/lib/systemd/network ]]; then
  mount --bind "${ND_USRLOCAL}" /usr/local/lib/systemd/network
else
  mount -t tmpfs tmpfs /usr/local/lib
  mkdir -p /usr/local/lib/systemd/network
  mount --bind "${ND_USRLOCAL}" /usr/local/lib/systemd/network
fi
# Our own /etc/hosts, so tests can change what endpoint hostnames resolve to.
[[ -f "${ND_DIR}/hosts" ]] || printf '127.0.0.1 localhost\n' >"${ND_DIR}/hosts"
mount --bind "${ND_DIR}/hosts" /etc/hosts
mkdir -p /run/systemd/netif /run/dbus
chown systemd-network:systemd-network /run/systemd/netif
mount -o remount,bind,ro /sys
dbus-daemon --system --fork --print-pid=3 3>"${ND_DIR}/dbus.pid"
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
if [[ "\${ND_HELPER_FIRST:-1}" == 1 ]]; then
  helper=("${WGCORE_NETWORKD}")
  notify_socket="${ND_DIR}/notify.sock"
  if [[ -n "\${ND_SANDBOX_UNIT:-}" ]]; then
    # As systemd would start it from the unit (tests/networkd/sandbox_exec.py): everything it
    # runs or reads comes from /run, since PrivateTmp= hides this test's /tmp.
    mkdir -p /run/sandbox /run/systemd/network /run/wireguard
    cp "${WGCORE_NETWORKD}" "\${ND_SANDBOX_UNIT}" "${WGCORE_SOURCE_ROOT}/tests/networkd/sandbox_exec.py" /run/sandbox/
    touch /run/systemd/notify
    mount --bind "\$notify_socket" /run/systemd/notify
    notify_socket=/run/systemd/notify
    helper=(unshare -m --propagation private /usr/bin/python3 /run/sandbox/sandbox_exec.py
            "/run/sandbox/\$(basename "\${ND_SANDBOX_UNIT}")" -- /run/sandbox/wgcore-networkd)
  fi
  NOTIFY_SOCKET="\$notify_socket" WATCHDOG_USEC=2000000 "\${helper[@]}" --verbose --reresolve "\${ND_RERESOLVE:-300}" \
    --retry "\${ND_RETRY:-5}" >>"${WGC_TEST_DIR}/helper.log" 2>&1 &
  echo \$! >"${ND_DIR}/helper.pid"
  for i in \$(seq 100); do grep -q ' info: Serving ' "${WGC_TEST_DIR}/helper.log" && break; sleep 0.1; done
fi
export SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_COLOR=0
exec /lib/systemd/systemd-networkd
INNER
}

# nd_start [IFACE...]: start helper + networkd; wait until each IFACE exists.
# ND_HELPER_FIRST=0: start only networkd (then nd_start_helper_late).
nd_start() {
  _nd_write_inner
  ns_spawn "$NS_ND" networkd unshare -m --propagation private bash "${ND_DIR}/inner.sh"
  ND_PID="$WGC_LAST_PID"
  ND_NS_PID="$ND_PID"  # a process inside networkd's namespaces
  if [[ "${ND_HELPER_FIRST:-1}" != 1 ]]; then
    wait_for 10 ndx networkctl list || fail "networkctl cannot reach networkd"
    return 0
  fi
  wait_for 10 test -s "${ND_DIR}/helper.pid" || fail "helper did not start"
  wait_for 10 grep -q ' info: Serving ' "${WGC_TEST_DIR}/helper.log" || fail "helper did not report ready"
  wait_for 10 ndx networkctl list || fail "networkctl cannot reach networkd"
  local i
  for i in "$@"; do
    wait_for 10 ns_exec "$NS_ND" ip link show dev "$i" || fail "helper did not create ${i}"
  done
}

ndx() {
  nsenter -t "$ND_NS_PID" -m -n env DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket "$@"
}

helper_pid() { cat "${ND_DIR}/helper.pid"; }

_nd_serving_count_above() { [[ "$(grep -c ' info: Serving ' "${WGC_TEST_DIR}/helper.log")" -gt "$1" ]]; }

# nd_reload_helper: SIGHUP (what ExecReload= sends) and wait for the reload to be logged done.
nd_reload_helper() {
  local before
  before="$(grep -c ' info: Serving ' "${WGC_TEST_DIR}/helper.log")"
  kill -HUP "$(helper_pid)"
  wait_for 10 _nd_serving_count_above "$before" ||
    fail "helper did not finish reloading"
}

# nd_start_helper_late: start the helper when networkd already runs (ND_HELPER_FIRST=0).
nd_start_helper_late() {
  spawn helper nsenter -t "$ND_NS_PID" -m -n env DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket \
    "$WGCORE_NETWORKD" --verbose
  printf '%s\n' "$WGC_LAST_PID" >"${ND_DIR}/helper.pid"
  ND_NS_PID="$WGC_LAST_PID"
  wait_for 10 grep -q ' info: Serving ' "${WGC_TEST_DIR}/helper.log" || fail "helper did not report ready"
}

# nd_restart_networkd: what `systemctl restart systemd-networkd` does, in the same namespaces
# (kept alive by the helper and dbus-daemon).
nd_restart_networkd() {
  stop_pid "$ND_PID"
  spawn networkd2 nsenter -t "$ND_NS_PID" -m -n env SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console \
    DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket /lib/systemd/systemd-networkd
  ND_PID="$WGC_LAST_PID"
  wait_for 10 ndx networkctl list || fail "restarted networkd not reachable"
}

# nd_configured IFACE: networkd says the link is configured (over the private bus).
nd_configured() { ndx networkctl status "$1" 2>/dev/null | grepq 'State: .*(configured)'; }

# A fixed key pair per name, from wg genkey.
gen_key() {
  local name="$1"
  [[ -f "${WGC_TEST_DIR}/${name}.key" ]] || (umask 077 && wg genkey >"${WGC_TEST_DIR}/${name}.key")
  cat "${WGC_TEST_DIR}/${name}.key"
}
pub_key() { gen_key "$1" | wg pubkey; }

# peer_go NS IFACE PORT TUN_ADDR: a wireguard-go peer in NS.
peer_go() {
  local ns="$1" ifc="$2" port="$3" addr="$4"
  require_cmd wireguard-go
  ns_spawn "$ns" "wggo-${ifc}" env WG_PROCESS_FOREGROUND=1 wireguard-go -f "$ifc"
  wait_for 10 ns_exec "$ns" wg show "$ifc" || fail "wireguard-go ${ifc} did not start"
  gen_key "$ifc" >/dev/null
  ns_exec "$ns" wg set "$ifc" private-key "${WGC_TEST_DIR}/${ifc}.key" listen-port "$port"
  ns_exec "$ns" ip address add "$addr" dev "$ifc"
  ns_exec "$ns" ip link set "$ifc" up
}

# latest_handshake NS-CMD IFACE PUBKEY: the peer's latest handshake (Unix time, 0 = none).
# nd_two_peers NAME: two wireguard-go peers, each in its own namespace behind its own veth from
# networkd's: A (NS_P, interface PA, 198.51.100.2:51821, tunnel 203.0.113.2) and B (NS_Q, PB,
# 198.51.100.18:51822, 203.0.113.3), both allowing 203.0.113.1/32 for the key gen_key NAME.
nd_two_peers() {
  NS_P="$(ns_create pa)"
  NS_Q="$(ns_create pb)"
  ns_veth "$NS_ND" veth0 "$NS_P" veth0 198.51.100.1/28 198.51.100.2/28
  ns_veth "$NS_ND" veth1 "$NS_Q" veth0 198.51.100.17/28 198.51.100.18/28
  PA="wga$$" PB="wgb$$"
  peer_go "$NS_P" "$PA" 51821 203.0.113.2/24
  peer_go "$NS_Q" "$PB" 51822 203.0.113.3/24
  local p
  for p in "$NS_P:$PA" "$NS_Q:$PB"; do
    ns_exec "${p%%:*}" wg set "${p##*:}" peer "$(pub_key "$1")" allowed-ips 203.0.113.1/32
  done
}

latest_handshake() {
  local ifc="$1" pub="$2"
  ndx wg show "$ifc" latest-handshakes | awk -v k="$pub" '$1 == k { print $2 }'
}
