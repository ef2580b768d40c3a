# netns.sh: helpers for end-to-end tests in private network namespaces. Every namespace and
# background process created through it is registered and removed by an EXIT trap; commands
# only ever run inside the test's own namespaces, so the root namespace's links are never touched.
# shellcheck shell=bash
#
# Use (from a bash test; sourcing checks root + netns support and skips/fails as scripts/lib.sh says):
#   source "$WGCORE_SOURCE_ROOT/tests/lib/netns.sh"
#   a=$(ns_create a); b=$(ns_create b)
#   ns_veth "$a" veth0 "$b" veth0 192.0.2.1/24 192.0.2.2/24
#   ns_spawn "$b" server iperf3 -s      # log: $WGC_TEST_DIR/server.log; PID in $WGC_LAST_PID
#   wait_for 5 ns_exec "$a" ping -c1 -W1 192.0.2.2 || fail "no ping"
#   pass "tunnel up"
# Registration lives in files under $WGC_TEST_DIR, so ns_create works inside $(...) too. A test
# needing its own exit actions registers them with on_exit instead of replacing the EXIT trap.

[[ -n "${WGC_NETNS_SH_LOADED:-}" ]] && return 0
WGC_NETNS_SH_LOADED=1

# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/lib.sh"

require_netns_support

WGC_TEST_NAME="${WGC_TEST_NAME:-$(basename "$0" .sh)}"
# Scratch space for configs and logs; kept (and its path printed) when the test fails.
WGC_TEST_DIR="$(mktemp -d "${TMPDIR:-/tmp}/wgc-${WGC_TEST_NAME}.XXXXXX")" ||
  die "cannot create a scratch directory"
export WGC_TEST_DIR
# One suffix per test run: PID plus randomness keeps parallel tests and reruns apart.
WGC_NS_SUFFIX="$$$(printf '%04x' "$((RANDOM % 65536))")"
WGC_LAST_PID=""
_wgc_ns_file="${WGC_TEST_DIR}/.namespaces"
_wgc_pid_file="${WGC_TEST_DIR}/.pids"
_wgc_exit_hooks=()
: >"$_wgc_ns_file"
: >"$_wgc_pid_file"

# --- output ----------------------------------------------------------------------------------

pass() { printf 'PASS: %s: %s\n' "$WGC_TEST_NAME" "$*"; }

# fail MSG: report, show the tail of every background process's log, and exit 1 (the EXIT trap
# then cleans up).
fail() {
  printf 'FAIL: %s: %s\n' "$WGC_TEST_NAME" "$*" >&2
  local f
  for f in "$WGC_TEST_DIR"/*.log; do
    [[ -f "$f" ]] || continue
    printf -- '--- last lines of %s\n' "$f" >&2
    tail -n 20 "$f" >&2
  done
  exit 1
}

# --- namespaces ------------------------------------------------------------------------------

_wgc_is_ours() { grep -qxF -- "$1" "$_wgc_ns_file"; }

_wgc_require_ours() {
  local ns
  for ns in "$@"; do
    _wgc_is_ours "$ns" || fail "refusing to act on namespace '${ns}': not created by this test"
  done
}

# ns_create LABEL: create namespace wgc-LABEL-SUFFIX with loopback up, print its name.
# IPv6 duplicate address detection is off so addresses work at once.
ns_create() {
  local label="$1"
  [[ "$label" =~ ^[A-Za-z0-9_]{1,12}$ ]] || fail "ns_create: bad label '${label}' (1-12 of [A-Za-z0-9_])"
  local ns="wgc-${label}-${WGC_NS_SUFFIX}"
  _wgc_is_ours "$ns" && fail "ns_create: label '${label}' used twice"
  ip netns add "$ns" || fail "ns_create: ip netns add ${ns} failed"
  # Registered right after creation so cleanup finds it even if a later step fails.
  printf '%s\n' "$ns" >>"$_wgc_ns_file"
  ip -n "$ns" link set lo up || fail "ns_create: loopback up in ${ns} failed"
  if [[ -d /proc/sys/net/ipv6 ]]; then
    ns_sysctl "$ns" net.ipv6.conf.all.accept_dad 0
    ns_sysctl "$ns" net.ipv6.conf.default.accept_dad 0
  fi
  printf '%s\n' "$ns"
}

# ns_exec NS CMD...: run CMD inside NS (only a namespace this test created).
ns_exec() {
  local ns="$1"
  shift
  _wgc_require_ours "$ns"
  ip netns exec "$ns" "$@"
}

# ns_sysctl NS KEY VALUE: set a sysctl inside NS (/proc/sys/net is per namespace).
ns_sysctl() {
  local ns="$1" key="$2" value="$3"
  _wgc_require_ours "$ns"
  # shellcheck disable=SC2016  # $1 and $2 belong to the inner sh
  ip netns exec "$ns" sh -c 'printf "%s\n" "$1" > "/proc/sys/$2"' sh "$value" "${key//.//}" ||
    fail "ns_sysctl: ${key}=${value} in ${ns} failed"
}

# ns_addr NS IFACE CIDR: add an address to IFACE inside NS.
ns_addr() {
  _wgc_require_ours "$1"
  ip -n "$1" addr add "$3" dev "$2" || fail "ns_addr: ${3} on ${2} in ${1} failed"
}

# ns_veth NS1 IF1 NS2 IF2 [ADDR1 [ADDR2]]: a veth pair between two of our namespaces, both ends
# up. The pair is created from inside NS1 with its peer placed straight into NS2, so no link
# ever appears in the root namespace.
ns_veth() {
  local ns1="$1" if1="$2" ns2="$3" if2="$4" addr1="${5:-}" addr2="${6:-}"
  _wgc_require_ours "$ns1" "$ns2"
  ip -n "$ns1" link add "$if1" type veth peer name "$if2" netns "$ns2" ||
    fail "ns_veth: ${ns1}/${if1} <-> ${ns2}/${if2} failed"
  [[ -z "$addr1" ]] || ns_addr "$ns1" "$if1" "$addr1"
  [[ -z "$addr2" ]] || ns_addr "$ns2" "$if2" "$addr2"
  ip -n "$ns1" link set "$if1" up || fail "ns_veth: ${if1} up failed"
  ip -n "$ns2" link set "$if2" up || fail "ns_veth: ${if2} up failed"
}

# --- background processes --------------------------------------------------------------------

# Process start time (clock ticks since boot): recorded with each PID so cleanup never signals
# an unrelated process that reused the number.
_wgc_starttime() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  # shellcheck disable=SC2086  # split the fields on purpose
  set -- $stat
  printf '%s\n' "${20}"
}

_wgc_register_pid() {
  local st
  st="$(_wgc_starttime "$1")" || st="?"
  printf '%s %s\n' "$1" "$st" >>"$_wgc_pid_file"
}

# spawn NAME CMD...: start CMD in the background with stdin from /dev/null and output in
# $WGC_TEST_DIR/NAME.log (so a leftover process never holds the test's stdout open).
# Sets WGC_LAST_PID. Call it directly, not inside $(...), so the process stays this shell's child.
spawn() {
  local name="$1"
  shift
  "$@" </dev/null >>"${WGC_TEST_DIR}/${name}.log" 2>&1 &
  WGC_LAST_PID=$!
  _wgc_register_pid "$WGC_LAST_PID"
}

# ns_spawn NS NAME CMD...: spawn inside NS. `ip netns exec` execs CMD, so the PID is CMD's.
ns_spawn() {
  local ns="$1" name="$2"
  shift 2
  _wgc_require_ours "$ns"
  spawn "$name" ip netns exec "$ns" "$@"
}

_wgc_alive() {
  local pid="$1" st="$2" now state
  now="$(_wgc_starttime "$pid")" || return 1
  [[ "$st" == "?" || "$now" == "$st" ]] || return 1
  state="$(sed 's/.*) //' "/proc/${pid}/stat" 2>/dev/null | cut -d' ' -f1)"
  [[ "$state" != "Z" ]]
}

# _wgc_reap PID: collect a child's exit status. A process that died of a crash signal (SEGV,
# ABRT, BUS, FPE, ILL), before or while it was stopped, makes the test fail at exit: its exit
# status would otherwise be lost and a crashed daemon go unnoticed. Deliberate ends (TERM, KILL,
# INT, a normal exit) are not crashes.
_wgc_crashes=()
_wgc_reap() {
  local pid="$1" rc=0
  wait "$pid" 2>/dev/null || rc=$?
  case "$rc" in
    132 | 134 | 135 | 136 | 139)
      printf 'FAIL: %s: PID %s died of signal %d (a crash)\n' "$WGC_TEST_NAME" "$pid" $((rc - 128)) >&2
      _wgc_crashes+=("$pid") ;;
  esac
}

# stop_pid PID: TERM, up to 3 s grace, then KILL; only for PIDs this test registered.
stop_pid() {
  local pid="$1" st i
  st="$(awk -v p="$pid" '$1 == p { print $2; exit }' "$_wgc_pid_file")"
  [[ -n "$st" ]] || fail "stop_pid: ${pid} was not started by this test"
  if ! _wgc_alive "$pid" "$st"; then
    _wgc_reap "$pid"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    _wgc_alive "$pid" "$st" || break
    sleep 0.1
  done
  if _wgc_alive "$pid" "$st"; then
    printf 'warning: PID %s ignored SIGTERM; sending SIGKILL\n' "$pid" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  _wgc_reap "$pid"
}

# --- waiting ---------------------------------------------------------------------------------

# not CMD...: the command failed (for wait_for, which needs a command, not a `!` pipeline).
not() { ! "$@"; }

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds (return 0) or SECONDS pass
# (return 1). CMD's output is discarded.
wait_for() {
  local timeout="$1"
  shift
  local budget_us deadline
  budget_us="$(awk -v t="$timeout" 'BEGIN { printf "%d", t * 1000000 }')"
  # EPOCHREALTIME is seconds with 6 decimals; dropping the separator gives microseconds.
  deadline=$((${EPOCHREALTIME/[.,]/} + budget_us))
  while true; do
    "$@" >/dev/null 2>&1 && return 0
    ((${EPOCHREALTIME/[.,]/} < deadline)) || return 1
    sleep 0.1
  done
}

# --- ping while something happens -------------------------------------------------------------

# pinger_start NS DEST: ping DEST from NS every 10 ms in the background (at most 60000 pings,
# 10 minutes), its output in $WGC_TEST_DIR/pinger.log.
pinger_start() {
  ns_spawn "$1" pinger ping -n -i 0.01 -c 60000 -W 2 "$2"
  WGC_PINGER_PID=$WGC_LAST_PID
}

# pinger_stop: ends the pinger with SIGINT (ping prints its summary then) and sets PING_SENT,
# PING_RECEIVED and PING_MAX_MS from the summary; fails the test when there is none.
pinger_stop() {
  local log="${WGC_TEST_DIR}/pinger.log"
  kill -INT "$WGC_PINGER_PID" 2>/dev/null || true
  wait_for 5 grep -q 'packets transmitted' "$log" || fail "ping printed no summary: $(tail -n 3 "$log")"
  stop_pid "$WGC_PINGER_PID"
  PING_SENT=$(sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p' "$log")
  PING_RECEIVED=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$log")
  PING_MAX_MS=$(sed -n 's|^rtt min/avg/max/mdev = [0-9.]*/[0-9.]*/\([0-9.]*\)/.*|\1|p' "$log")
  [[ -n $PING_SENT && -n $PING_RECEIVED && -n $PING_MAX_MS ]] ||
    fail "could not read ping's summary: $(tail -n 3 "$log")"
}

# --- cleanup ---------------------------------------------------------------------------------

# on_exit CMD...: run CMD (as one string, eval'd) at exit, before processes and namespaces go.
on_exit() { _wgc_exit_hooks+=("$*"); }

_wgc_cleanup() {
  local rc=$?
  set +e
  trap - EXIT INT TERM
  local hook
  for hook in "${_wgc_exit_hooks[@]}"; do
    eval "$hook"
  done
  local pid st
  while read -r pid st; do
    [[ -n "$pid" ]] && stop_pid "$pid"
  done < <(tac "$_wgc_pid_file")
  [[ ${#_wgc_crashes[@]} -gt 0 && $rc -eq 0 ]] && rc=1
  local ns left
  while read -r ns; do
    [[ -n "$ns" ]] || continue
    # Anything still inside our namespace descends from what this test started (only this
    # test uses it); end it by PID, or the namespace would outlive its name.
    for left in $(ip netns pids "$ns" 2>/dev/null); do
      printf 'warning: PID %s still in %s at exit; killing it\n' "$left" "$ns" >&2
      kill -KILL "$left" 2>/dev/null
    done
    ip netns del "$ns" 2>/dev/null || printf 'warning: could not delete namespace %s\n' "$ns" >&2
  done <"$_wgc_ns_file"
  if [[ $rc -eq 0 && "${WGC_KEEP:-0}" != "1" ]]; then
    rm -rf "$WGC_TEST_DIR"
  else
    printf 'note: test files kept in %s\n' "$WGC_TEST_DIR" >&2
  fi
  exit "$rc"
}

trap _wgc_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
