# nm_env.sh: a real NetworkManager (with a private system D-Bus) in a private network namespace
# and mount namespace, wired to the BUILT wgcore VPN plugin, plus a router and a WireGuard peer
# in their own namespaces. Follows /work/shared/recipes/nm-in-netns (see docs/nm-plugin.md):
# /sys read-only so NM runs without udev, NM's config/state dirs and /run replaced by scratch
# dirs, the VPN .name directory bind-mounted so NM finds our .name file, nmcli run through
# nsenter into NM's mount namespace so it sees the same .name file.
# shellcheck shell=bash
#
# Topology (underlay 198.51.100.0/24 split in two /25s, so the peer is reachable only through
# the router, i.e. only through NM's default route — what a full tunnel must not capture):
#   NM ns  u0 198.51.100.1/25 --- r0 198.51.100.126/25  router  r1 198.51.100.190/26 --- p0 198.51.100.130/26  peer
#                                                             r2 198.51.100.254/26 --- q0 198.51.100.193/26  peer2 (nm_peer2_ns)
#   peer: WireGuard interfaces (wireguard-go or wgcored), "third" addresses 198.18.0.1 and
#   2001:db8:100::1 on lo, reachable from NM's namespace only through a tunnel; peer2 has 198.18.1.1.

# shellcheck source=tests/lib/netns.sh
source "${WGCORE_SOURCE_ROOT}/tests/lib/netns.sh"
require_tun
for c in NetworkManager nmcli nm-online dbus-daemon dbus-monitor unshare nsenter wg wireguard-go; do require_cmd "$c"; done

NM_SERVICE="${NM_WGCORE_SERVICE:-${WGCORE_BUILD_ROOT}/nm-plugin/service/nm-wgcore-service}"
NM_EDITOR="${NM_WGCORE_EDITOR_PLUGIN:-${WGCORE_BUILD_ROOT}/nm-plugin/properties/libnm-vpn-plugin-wgcore.so}"
WGCORED="${WGCORED:-${WGCORE_BUILD_ROOT}/tools/wgcored}"
[[ -x "$NM_SERVICE" ]] || fail "nm-wgcore-service not built at ${NM_SERVICE}"
[[ -f "$NM_EDITOR" ]] || fail "editor plugin not built at ${NM_EDITOR}"

NM_ADDR=198.51.100.1 R_ADDR_NM=198.51.100.126 R_ADDR_P=198.51.100.190 PEER_ADDR=198.51.100.130
R_ADDR_P2=198.51.100.254 PEER2_ADDR=198.51.100.193 THIRD4_P2=198.18.1.1
THIRD4=198.18.0.1 THIRD6=2001:db8:100::1

# nm_topology: the three namespaces and their links (NM's side gets its address from NM).
nm_topology() {
  NS_NM="$(ns_create nm)" NS_R="$(ns_create rt)" NS_P="$(ns_create peer)"
  ns_veth "$NS_NM" u0 "$NS_R" r0 "" "${R_ADDR_NM}/25"
  ns_veth "$NS_R" r1 "$NS_P" p0 "${R_ADDR_P}/26" "${PEER_ADDR}/26"
  ns_sysctl "$NS_R" net.ipv4.ip_forward 1
  ip -n "$NS_P" route add default via "$R_ADDR_P" || fail "peer default route"
  ip -n "$NS_P" addr add "${THIRD4}/32" dev lo || fail "third address"
  ip -n "$NS_P" addr add "${THIRD6}/128" dev lo || fail "third address v6"
}

# nm_peer2_ns: a second peer namespace behind the router (another endpoint address).
nm_peer2_ns() {
  NS_P2="$(ns_create peer2)"
  ns_veth "$NS_R" r2 "$NS_P2" q0 "${R_ADDR_P2}/26" "${PEER2_ADDR}/26"
  ip -n "$NS_P2" route add default via "$R_ADDR_P2" || fail "peer2 default route"
  ip -n "$NS_P2" addr add "${THIRD4_P2}/32" dev lo || fail "peer2 third address"
}

# nm_start: private bus + NetworkManager inside NS_NM with a private mount namespace.
nm_start() {
  NM_WORK="${WGC_TEST_DIR}/nm"
  mkdir -p "$NM_WORK"/{run,log,etc-nm/conf.d,etc-nm/system-connections,var-lib-nm,run-nm,vpn-lib,dbus-policy,dbus-services}
  chmod 700 "$NM_WORK/etc-nm/system-connections"
  NM_SOCK="$NM_WORK/run/system_bus_socket"
  export DBUS_SYSTEM_BUS_ADDRESS="unix:path=${NM_SOCK}"
  cat >"$NM_WORK/etc-nm/NetworkManager.conf" <<CONF
[main]
plugins=keyfile
no-auto-default=*
auth-polkit=false
dns=none
rc-manager=unmanaged
hostname-mode=none
dhcp=internal
[logging]
level=DEBUG
domains=ALL
[keyfile]
unmanaged-devices=none
[connectivity]
enabled=false
CONF
  # The .name file as installed, but naming the BUILT service and editor plugin.
  sed -e "s|@SERVICE_PROGRAM@|${NM_SERVICE}|" -e "s|@EDITOR_PLUGIN@|${NM_EDITOR}|" \
    "${WGCORE_SOURCE_ROOT}/nm-plugin/data/nm-wgcore-service.name.in" >"$NM_WORK/vpn-lib/nm-wgcore-service.name"
  cp "${WGCORE_SOURCE_ROOT}/nm-plugin/data/nm-wgcore-service.conf" "$NM_WORK/dbus-policy/"
  cat >"$NM_WORK/dbus-system.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${NM_SOCK}</listen>
  <auth>EXTERNAL</auth>
  <servicedir>${NM_WORK}/dbus-services</servicedir>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
  <includedir>${NM_WORK}/dbus-policy</includedir>
  <policy user="root">
    <allow own="*"/>
    <allow send_type="method_call"/>
  </policy>
</busconfig>
CONF
  cat >"$NM_WORK/inner.sh" <<INNER
set -e
mount -o remount,ro /sys
mount --bind "$NM_WORK/etc-nm" /etc/NetworkManager
mount --bind "$NM_WORK/var-lib-nm" /var/lib/NetworkManager
mount --bind "$NM_WORK/run-nm" /run
mount --bind "$NM_WORK/vpn-lib" /usr/lib/NetworkManager/VPN
dbus-daemon --config-file="$NM_WORK/dbus-system.conf" --fork --print-pid=3 3>"$NM_WORK/run/dbus.pid"
for i in \$(seq 50); do [ -S "$NM_SOCK" ] && break; sleep 0.1; done
setsid NetworkManager --debug --pid-file="$NM_WORK/run/nm.pid" </dev/null >"$NM_WORK/log/nm.log" 2>&1 &
echo \$! >"$NM_WORK/run/nm.realpid"
INNER
  ns_exec "$NS_NM" unshare --mount --propagation private bash "$NM_WORK/inner.sh" || fail "starting dbus + NetworkManager"
  NM_PID="$(cat "$NM_WORK/run/nm.realpid")"
  DBUS_PID="$(cat "$NM_WORK/run/dbus.pid")"
  _wgc_register_pid "$DBUS_PID"
  _wgc_register_pid "$NM_PID"
  on_exit nm_stop
  nm-online -s -q -t 30 || fail "NetworkManager did not finish starting"
}

# nm_stop: NetworkManager, then any plugin process it started (by PID, found among the
# processes of our namespace running our binary), then the bus.
nm_stop() {
  [[ -n "${NM_PID:-}" ]] || return 0
  stop_pid "$NM_PID"
  local p
  for p in $(nm_service_pids); do kill -TERM "$p" 2>/dev/null; done
  wait_for 5 nm_no_service || for p in $(nm_service_pids); do kill -KILL "$p" 2>/dev/null; done
  stop_pid "$DBUS_PID"
  NM_PID=""
}

# PIDs in NS_NM running the built service (service instances and their cleanup guards).
nm_service_pids() {
  local p
  for p in $(ip netns pids "$NS_NM" 2>/dev/null); do
    [[ "$(readlink "/proc/$p/exe" 2>/dev/null)" == "$NM_SERVICE" ]] && printf '%s\n' "$p"
  done
  return 0
}

# The service instance (not its guard) serving bus name NAME-suffix, e.g. Connection_3.
nm_service_pid_for() {
  local p
  for p in $(nm_service_pids); do
    tr '\0' ' ' <"/proc/$p/cmdline" | grepq -- '--cleanup-guard' && continue
    printf '%s\n' "$p"
  done
}

# nmc ARGS...: nmcli in NM's mount namespace (it resolves vpn-type wgcore from our .name file).
nmc() { nsenter -t "$NM_PID" -m nmcli "$@"; }

# nm_base_up: the underlay profile NM needs as the VPN's "source" connection (with a default
# route through the router).
nm_base_up() {
  nmc connection add type ethernet ifname u0 con-name base autoconnect no ipv4.method manual \
    ipv4.addresses "${NM_ADDR}/25" ipv4.gateway "$R_ADDR_NM" ipv6.method disabled >/dev/null || fail "add base"
  nmc -w 20 connection up base >/dev/null || fail "base connection up"
  wait_for 5 ns_exec "$NS_NM" ping -c1 -W1 "$PEER_ADDR" || fail "no underlay path to the peer"
}

# nm_session_begin [SETUP-FUNCTION...]: the namespaces (then each SETUP-FUNCTION, e.g. another
# peer namespace), NetworkManager started and the underlay connection up; `baseline` holds
# nm_state from before any VPN, for the test's final comparison.
nm_session_begin() {
  local f
  nm_topology
  for f in "$@"; do "$f"; done
  nm_start
  nm_base_up
  # shellcheck disable=SC2034  # read by the test that sources this file
  baseline="$(nm_state)"
}

# nm_state: the namespace's links, addresses, routes (every table) and rules, to compare
# before and after (anything the VPN added must be gone).
nm_state() {
  {
    ip -n "$NS_NM" -o link show | awk '{ print $2 }'
    ip -n "$NS_NM" -o addr show | awk '{ print $2, $3, $4 }'
    ip -n "$NS_NM" -4 route show table all
    ip -n "$NS_NM" -6 route show table all
    ip -n "$NS_NM" -4 rule show
    ip -n "$NS_NM" -6 rule show
  } | sort
}

# peer_start NAME IMPL PORT TUN4/LEN TUN6/LEN: (in $PEER_NS, default NS_P) a WireGuard peer interface in NS_P.
# Sets PEER_PUB_<NAME>; its private key is in $WGC_TEST_DIR/NAME.key.
peer_start() {
  local name="$1" impl="$2" port="$3" a4="$4" a6="$5" bin iface
  local ns="${PEER_NS:-$NS_P}"
  iface="${name}${WGC_NS_SUFFIX}"
  iface="${iface:0:15}"
  printf -v "PEER_NS_${name}" '%s' "$ns"
  case "$impl" in
    wgcored) bin="$WGCORED" ;;
    wireguard-go) bin="$(command -v wireguard-go)" ;;
  esac
  ns_spawn "$ns" "peer_${name}" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=verbose "$bin" -f "$iface"
  wait_for 10 test -S "/var/run/wireguard/${iface}.sock" || fail "${impl} peer ${name} did not start"
  (umask 077 && wg genkey >"${WGC_TEST_DIR}/${name}.key")
  printf -v "PEER_PUB_${name}" '%s' "$(wg pubkey <"${WGC_TEST_DIR}/${name}.key")"
  printf -v "PEER_IF_${name}" '%s' "$iface"
  ns_exec "$ns" wg set "$iface" private-key "${WGC_TEST_DIR}/${name}.key" listen-port "$port" || fail "wg set ${iface}"
  ip -n "$ns" addr add "$a4" dev "$iface" && ip -n "$ns" addr add "$a6" dev "$iface" &&
    ip -n "$ns" link set "$iface" mtu 1420 up || fail "peer ${name} addresses"
}

# peer_allow NAME CLIENT_PUB ALLOWED: the peer accepts CLIENT_PUB with source addresses ALLOWED.
peer_allow() {
  local iface_var="PEER_IF_$1" ns_var="PEER_NS_$1"
  ns_exec "${!ns_var}" wg set "${!iface_var}" peer "$2" allowed-ips "$3" || fail "wg set peer on $1"
}

# peer_rx NAME: bytes the peer received from its (single) client.
peer_rx() {
  local iface_var="PEER_IF_$1" ns_var="PEER_NS_$1"
  ns_exec "${!ns_var}" wg show "${!iface_var}" transfer | awk '{ s += $2 } END { print s + 0 }'
}

# client_conf FILE ADDRESSES PEERNAME PORT ALLOWED [EXTRA...]: a wg-quick file for NM to import,
# with a fresh client key; sets CLIENT_PUB.
client_conf() {
  local file="$1" addrs="$2" port="$4" allowed="$5" key pub_var="PEER_PUB_$3"
  key="$(wg genkey)"
  # shellcheck disable=SC2034  # read by the tests
  CLIENT_PUB="$(printf '%s\n' "$key" | wg pubkey)"
  {
    printf '[Interface]\nAddress = %s\nPrivateKey = %s\n' "$addrs" "$key"
    shift 5
    local extra
    for extra in "$@"; do printf '%s\n' "$extra"; done
    printf '\n[Peer]\nPublicKey = %s\nAllowedIPs = %s\nEndpoint = %s:%s\n' "${!pub_var}" "$allowed" "$PEER_ADDR" "$port"
  } >"$file"
  chmod 600 "$file"
}

# show_cmd CMD...: print "$ CMD" and its output (the transcript in the test log).
show_cmd() {
  local shown="$*"
  shown="${shown/#nmc /nmcli }"
  shown="${shown/#ns_exec /ip netns exec }"
  printf '$ %s\n' "$shown"
  "$@" 2>&1
}

# nm_settled_to BASELINE: whether nm_state equals BASELINE now (for wait_for, which must
# re-evaluate the state on every try).
nm_settled_to() { [[ "$(nm_state)" == "$1" ]]; }
# nm_inactive NAME: NM has no active connection NAME.
# nmcli must answer: a NetworkManager that died would otherwise look like "inactive".
nm_inactive() {
  local out
  out=$(nmc -g GENERAL.STATE connection show "$1" 2>&1) || fail "nmcli could not ask about $1 (NetworkManager gone?): ${out}"
  [[ -z "$out" ]]
}
# nm_no_service: no process of ours (service instance or guard) left in NM's namespace.
nm_no_service() { [[ -z "$(nm_service_pids)" ]]; }
