#!/bin/bash
# No secret reaches a log: two wgcored at LOG_LEVEL=debug go through a whole session (set with
# private keys and a preshared key, handshake, traffic, get, a private-key change, a bad set that
# names a key, shutdown), then their logs are searched for every private key and the PSK in
# base64, hex and upper-case hex. The logs must hold the session's debug lines, so a daemon that
# logged nothing cannot pass.
set -uo pipefail
source "${WGCORE_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/lib/wg_pair.sh"
source "$(dirname "$0")/sec_lib.sh"

WGC_LOG_LEVEL=debug psk_session_setup
ns_exec "$NS_A" ping -c5 -i0.2 -W1 "$TUN_B4" >/dev/null || fail "ping lost packets"
# Gets that return the keys, as `wg showconf` and `wg show` do.
ns_exec "$NS_A" wg showconf "$IF_A" | grepq "PresharedKey = $(cat "${WGC_TEST_DIR}/psk")" ||
  fail "showconf did not return the PSK (get broken?)"
ns_exec "$NS_B" wg show "$IF_B" dump >/dev/null || fail "wg show dump"
# A key change and a rejected set whose body carries a private key.
ns_exec "$NS_A" wg set "$IF_A" private-key "${WGC_TEST_DIR}/a2.key" || fail "private-key change"
printf 'set=1\nprivate_key=%s\nlisten_port=notaport\n\n' "$(key_hex "$(cat "${WGC_TEST_DIR}/a.key")")" |
  timeout 5 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
print(s.recv(4096).decode().strip())' "/var/run/wireguard/${IF_A}.sock" | grepq 'errno=-' ||
  fail "the bad set was not rejected"
stop_pid "$PID_A"
stop_pid "$PID_B"

logs=("${WGC_TEST_DIR}/daemon_a.log" "${WGC_TEST_DIR}/daemon_b.log")
lines="$(cat "${logs[@]}" | grep -c '^DEBUG:')"
events="$(cat "${logs[@]}" | grep -ci 'handshake')"
echo "debug log lines: ${lines}, handshake lines: ${events}"
[[ "$lines" -ge 10 && "$events" -ge 2 ]] || fail "the logs hold too little to prove anything (${lines} lines)"

found=0
for name in a.key b.key a2.key psk; do
  b64="$(cat "${WGC_TEST_DIR}/${name}")"
  hex="$(key_hex "$b64")"
  for form in "$b64" "$hex" "${hex^^}" "${b64:0:20}" "${hex:0:24}"; do
    if grep -qiF -- "$form" "${logs[@]}"; then
      echo "secret ${name} found in a log as '${form}'" >&2
      found=1
    fi
  done
done
[[ $found -eq 0 ]] || fail "secrets in the debug logs"
pass "no private key or PSK (base64, hex, or a 20/24-character prefix) in ${lines} debug log lines"
