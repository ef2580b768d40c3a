#!/bin/bash
# Old secrets leave wgcored's memory: a session with a private key and a PSK (set, handshake,
# traffic, get), then the peer is removed and a new private key set, and the daemon's heap,
# stacks and anonymous memory are searched (memscan.py, /proc/PID/mem) for the old private key
# and the PSK, raw and in the UAPI's hex and base64 text forms. Control: the new private key,
# which the daemon still holds, must be found raw, or the scan proves nothing.
set -uo pipefail
source "${WGCORE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/wg_pair.sh"
source "$(dirname "$0")/sec_lib.sh"
require_cmd python3

psk_session_setup
ns_exec "$NS_A" ping -c20 -i0.05 -s1200 -W1 "$TUN_B4" >/dev/null || fail "ping lost packets"
# Gets that carry the secrets back out, as `wg showconf` does.
for i in 1 2 3; do
  ns_exec "$NS_A" wg showconf "$IF_A" >/dev/null || fail "showconf"
done
ns_exec "$NS_A" wg show "$IF_A" dump >/dev/null || fail "wg show dump"

# Forget them: the peer (its PSK, handshake and session keys) and the old identity.
ns_exec "$NS_A" wg set "$IF_A" peer "$KEY_B_PUB" remove || fail "peer remove"
ns_exec "$NS_A" wg set "$IF_A" private-key "${WGC_TEST_DIR}/a2.key" || fail "private-key change"
[[ "$(ns_exec "$NS_A" wg show "$IF_A" peers | wc -l)" == 0 ]] || fail "peer still configured"
sleep 0.5

args=()
add_forms() {  # LABEL BASE64: raw bytes, lower and upper hex text, base64 text
  local hex
  hex="$(key_hex "$2")"
  args+=("$1-raw=${hex}" "$1-hex=$(printf '%s' "$hex" | od -An -v -tx1 | tr -d ' \n')"
    "$1-HEX=$(printf '%s' "${hex^^}" | od -An -v -tx1 | tr -d ' \n')"
    "$1-base64=$(printf '%s' "$2" | od -An -v -tx1 | tr -d ' \n')")
}
add_forms old-private "$(cat "${WGC_TEST_DIR}/a.key")"
add_forms psk "$(cat "${WGC_TEST_DIR}/psk")"
args+=("control-new-private-raw=$(key_hex "$(cat "${WGC_TEST_DIR}/a2.key")")")

python3 "$(dirname "$0")/memscan.py" "$PID_A" "${args[@]}" >"${WGC_TEST_DIR}/scan.txt" || fail "memscan failed"
cat "${WGC_TEST_DIR}/scan.txt"
kill -0 "$PID_A" || fail "wgcored died during the scan"
awk '$1 == "control-new-private-raw" && $2 >= 1 { ok = 1 } END { exit !ok }' "${WGC_TEST_DIR}/scan.txt" ||
  fail "control failed: the live private key was not found, so the scan cannot be trusted"
leaks="$(awk '$1 != "scanned" && $1 !~ /^control-/ && $2 > 0' "${WGC_TEST_DIR}/scan.txt")"
[[ -z "$leaks" ]] || fail "old secrets still in wgcored's memory: ${leaks}"
scanned="$(awk '$1 == "scanned" { print $2 }' "${WGC_TEST_DIR}/scan.txt")"
pass "old private key and PSK absent (raw, hex, HEX, base64) from ${scanned} bytes of wgcored's memory"
