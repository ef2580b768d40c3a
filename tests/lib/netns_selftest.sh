#!/bin/bash
# netns_selftest.sh: checks tests/lib/netns.sh itself: two namespaces joined by a veth can ping
# each other, helpers refuse foreign namespaces, and the EXIT trap removes every namespace and
# background process it created - on success and on failure - while the root namespace is untouched.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# --- child mode: a test using the library, run as a separate process so its EXIT trap fires ---
if [[ "${1:-}" == "--child-crash" ]]; then
  # A background process that dies of SIGSEGV while the test itself passes: the test must fail.
  WGC_TEST_NAME="netns_selftest_crash"
  # shellcheck source=tests/lib/netns.sh
  source "${here}/netns.sh"
  spawn crasher sh -c 'sleep 0.2; kill -SEGV $$'
  printf 'PID %s\n' "$WGC_LAST_PID" >>"$2"
  sleep 0.5
  pass "the test's own checks pass"
  exit 0
fi
if [[ "${1:-}" == "--child" || "${1:-}" == "--child-fail" ]]; then
  mode="$1"
  report="$2"
  WGC_TEST_NAME="netns_selftest_child"
  # shellcheck source=tests/lib/netns.sh
  source "${here}/netns.sh"
  a="$(ns_create a)"
  b="$(ns_create b)"
  printf 'NS %s\nNS %s\nDIR %s\n' "$a" "$b" "$WGC_TEST_DIR" >>"$report"
  ns_spawn "$a" sleeper sleep 600
  printf 'PID %s\n' "$WGC_LAST_PID" >>"$report"
  if [[ "$mode" == "--child-fail" ]]; then
    fail "deliberate failure to exercise cleanup"
  fi

  ns_veth "$a" veth0 "$b" veth0 192.0.2.1/24 192.0.2.2/24
  ns_exec "$a" ping -c 1 -W 2 192.0.2.2 >/dev/null || fail "a cannot ping b over the veth"
  ns_exec "$b" ping -c 1 -W 2 192.0.2.1 >/dev/null || fail "b cannot ping a over the veth"
  pass "ping across the veth both ways"

  [[ "$(ns_exec "$a" ip -o link show veth0 | wc -l)" -eq 1 ]] || fail "veth0 missing in ${a}"

  wait_for 5 kill -0 "$WGC_LAST_PID" || fail "background process did not start"
  [[ "$(ip netns identify "$WGC_LAST_PID")" == "$a" ]] || fail "spawned process is not in ${a}"
  start=${EPOCHREALTIME/[.,]/}
  if wait_for 0.3 false; then fail "wait_for reported success for a command that never succeeds"; fi
  elapsed_ms=$(((${EPOCHREALTIME/[.,]/} - start) / 1000))
  ((elapsed_ms >= 250 && elapsed_ms < 3000)) || fail "wait_for 0.3 took ${elapsed_ms} ms"
  pass "wait_for honours its timeout (${elapsed_ms} ms)"

  if (ns_exec wgc-not-ours-$$ true) 2>/dev/null; then
    fail "ns_exec accepted a namespace this test did not create"
  fi
  pass "ns_exec refuses foreign namespaces"
  exit 0
fi

# --- parent mode --------------------------------------------------------------------------------
# shellcheck source=scripts/lib.sh
source "${here}/../../scripts/lib.sh"
require_netns_support
require_cmd ping

fails=0
check() {
  if "${@:2}"; then
    printf 'PASS: netns_selftest: %s\n' "$1"
  else
    printf 'FAIL: netns_selftest: %s\n' "$1" >&2
    fails=$((fails + 1))
  fi
}

root_links() { ip -o link show | awk -F': ' '{ print $2 }' | sort; }
# Addresses without lifetimes (they count down). The root namespace may itself use 192.0.2.0/24
# (this project's machines do), so compare before/after instead of looking for our addresses.
root_addrs() { ip -o addr show | sed 's/ *valid_lft.*//' | sort; }
gone_ns() { ! ip netns list | awk '{ print $1 }' | grepq -xF "$1"; }
gone_pid() { ! kill -0 "$1" 2>/dev/null; }

links_before="$(root_links)"
addrs_before="$(root_addrs)"
scratch="$(mktemp -d "${TMPDIR:-/tmp}/wgc-netns-selftest.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

for mode in --child --child-fail; do
  report="${scratch}/report${mode}"
  : >"$report"
  rc=0
  bash "${BASH_SOURCE[0]}" "$mode" "$report" || rc=$?
  if [[ "$mode" == "--child" ]]; then
    check "child test succeeded" test "$rc" -eq 0
  else
    check "failing child exits 1 (got ${rc})" test "$rc" -eq 1
  fi
  nss=()
  pids=()
  dir=""
  while read -r kind value; do
    case "$kind" in
      NS) nss+=("$value") ;;
      PID) pids+=("$value") ;;
      DIR) dir="$value" ;;
    esac
  done <"$report"
  check "${mode}: two namespaces were created" test "${#nss[@]}" -eq 2
  check "${mode}: one background process was started" test "${#pids[@]}" -eq 1
  for ns in "${nss[@]}"; do
    # shellcheck disable=SC2016  # $1 belongs to the inner bash
    check "${mode}: namespace ${ns} follows the wgc- naming" \
      bash -c '[[ "$1" =~ ^wgc-[ab]-[0-9a-f]+$ ]]' _ "$ns"
    check "${mode}: namespace ${ns} removed at exit" gone_ns "$ns"
  done
  for pid in "${pids[@]}"; do
    check "${mode}: background PID ${pid} ended at exit" gone_pid "$pid"
  done
  if [[ "$mode" == "--child" ]]; then
    check "${mode}: scratch directory removed after success" test ! -e "$dir"
  else
    check "${mode}: scratch directory kept after failure" test -f "${dir}/sleeper.log"
    [[ -n "$dir" && "$dir" == "${TMPDIR:-/tmp}"/wgc-* ]] && rm -rf "$dir"
  fi
done

rc=0
bash "${BASH_SOURCE[0]}" --child-crash "${scratch}/report-crash" 2>"${scratch}/crash.err" || rc=$?
check "a crashed background process fails the test (exit ${rc})" test "$rc" -eq 1
check "the crash is reported with its signal" grepq "died of signal 11" "${scratch}/crash.err"
for d in "${TMPDIR:-/tmp}"/wgc-netns_selftest_crash.*; do [[ -d "$d" ]] && rm -rf "$d"; done

check "root namespace links unchanged" test "$(root_links)" == "$links_before"
check "root namespace addresses unchanged" test "$(root_addrs)" == "$addrs_before"

if [[ $fails -gt 0 ]]; then
  printf 'FAIL: netns_selftest: %d checks failed\n' "$fails" >&2
  exit 1
fi
printf 'PASS: netns_selftest: all checks\n'
