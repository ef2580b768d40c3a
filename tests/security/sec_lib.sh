# sec_lib.sh: helpers shared by the security tests: reading a process's capability sets (every
# thread, since capabilities are per thread) and the key encodings the secret scans look for.
# shellcheck shell=bash

# task_field PID FIELD: FIELD of /proc/PID/task/*/status for every thread, one line each.
task_field() {
  local pid="$1" field="$2" t
  for t in /proc/"$pid"/task/*; do
    awk -v f="${field}:" '$1 == f { print $2 }' "$t/status"
  done
}

# expect_all_threads PID FIELD VALUE: every thread of PID has FIELD = VALUE (fails otherwise).
expect_all_threads() {
  local pid="$1" field="$2" want="$3" got n
  got="$(task_field "$pid" "$field" | sort -u | tr '\n' ' ')"
  n="$(task_field "$pid" "$field" | wc -l)"
  [[ "$got" == "${want} " ]] || fail "${field} of PID ${pid}'s ${n} threads is '${got% }', want ${want}"
  printf '%s\n' "$n"
}

# uid_of PID: the real, effective, saved and fs uid of PID.
uid_of() { awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$1/status"; }

# key_hex BASE64: the lower-case hex form (`wg` and the UAPI speak hex).
key_hex() { base64 -d <<<"$1" | od -An -v -tx1 | tr -d ' \n'; }

# The capability masks as /proc/PID/status prints them (used by the tests that source this).
# shellcheck disable=SC2034
{
  CAPS_KEPT=0000000000001400 # 1 << CAP_NET_ADMIN (12) | 1 << CAP_NET_BIND_SERVICE (10)
  CAPS_NONE=0000000000000000
}

# psk_session_setup: two wgcored over IPv4 (tests/lib/wg_pair.sh), a's
# private key in WGC_TEST_DIR/a.key, a fresh PSK in WGC_TEST_DIR/psk on both sides and a second
# private key in WGC_TEST_DIR/a2.key for a later change; returns once a ping crosses the tunnel.
# Environment for the daemons (LOG_LEVEL...) goes in front of the call, as for pair_setup.
psk_session_setup() {
  pair_setup wgcored wgcored 4
  wg genpsk >"${WGC_TEST_DIR}/psk"
  wg genkey >"${WGC_TEST_DIR}/a2.key"
  pair_configure a
  ns_exec "$NS_A" wg set "$IF_A" peer "$KEY_B_PUB" preshared-key "${WGC_TEST_DIR}/psk" || fail "psk on a"
  ns_exec "$NS_B" wg set "$IF_B" peer "$KEY_A_PUB" preshared-key "${WGC_TEST_DIR}/psk" || fail "psk on b"
  wait_for 10 ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" || fail "no ping through the tunnel"
}
