#!/bin/bash
# The UAPI socket is mode 0600 in a directory of mode 0700, whatever umask wgcored starts with:
# the default /var/run/wireguard, a --socket-dir that does not exist yet (created 0700), and one
# that exists with wireguard-go's 0755 (tightened to 0700).
set -uo pipefail
source "${WGCORE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/netns.sh"
require_tun
require_cmd wg stat setpriv /usr/bin/python3
WGCORED="${WGCORED:-${WGCORE_BUILD_ROOT:-${WGC_ROOT}/build}/tools/wgcored}"
[[ -x "$WGCORED" ]] || fail "wgcored not built at ${WGCORED}"

NS="$(ns_create sock)"
IF="ss${WGC_NS_SUFFIX}"
IF="${IF:0:15}"

# check DIR: start wgcored with umask 000 and DIR as its socket directory, stat both, stop it.
check() {
  local dir="$1" sock="$1/${IF}.sock" extra=()
  [[ "$dir" != /var/run/wireguard ]] && extra=(--socket-dir "$dir")
  ns_spawn "$NS" "wgcored_$((++runs))" sh -c 'umask 000; exec "$@"' sh "$WGCORED" -f "${extra[@]}" "$IF"
  local pid=$WGC_LAST_PID
  wait_for 10 test -S "$sock" || fail "no socket at ${sock}"
  local smode dmode
  smode="$(stat -c '%a %U %F' "$sock")"
  dmode="$(stat -c '%a %U' "$dir")"
  echo "${sock}: ${smode}; ${dir}: ${dmode}"
  [[ "$smode" == "600 root socket" ]] || fail "socket ${sock} is '${smode}', want 600 root socket"
  [[ "$dmode" == "700 root" ]] || fail "directory ${dir} is '${dmode}', want 700 root"
  # Others are refused by the modes before wgcored sees them (stock wg looks only here).
  # (Root can, so a refusal below is the modes' doing, not a missing tool or a dead socket.)
  if [[ "$dir" == /var/run/wireguard ]]; then
    wg show "$IF" >/dev/null || fail "root cannot read ${IF} through the socket"
    local out
    setpriv --reuid=65534 --regid=65534 --clear-groups wg show "$IF" >/dev/null 2>&1 && fail "uid 65534 could read ${IF} through the socket"
    # And the refusal is the modes' (EACCES on connect), not a missing tool or a dead socket.
    out=$(setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c \
      'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$sock" 2>&1) &&
      fail "uid 65534 could connect to ${sock}"
    grepq "PermissionError" <<<"$out" || fail "uid 65534 refused for another reason than the modes: ${out}"
  fi
  stop_pid "$pid"
  [[ ! -e "$sock" ]] || fail "${sock} left behind after SIGTERM"
}
runs=0

check /var/run/wireguard
check "${WGC_TEST_DIR}/new/wireguard"
mkdir -m 0755 "${WGC_TEST_DIR}/loose"
check "${WGC_TEST_DIR}/loose"
pass "UAPI socket 0600 in a 0700 directory (default, created and tightened --socket-dir)"
