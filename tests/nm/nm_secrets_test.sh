#!/usr/bin/env bash
# Suite nm: secrets. The private key and the peer's preshared key of an imported profile are
# system-owned secrets; made agent-owned, NM stops storing them; activation without an agent
# that knows them fails with a clear message and leaves nothing behind; nmcli as the secret
# agent (passwd-file, and --ask with the keys on stdin) supplies them through the plugin's
# secrets request (its hints name both keys), and the tunnel carries a ping (a wrong or missing
# preshared key would stop the handshake). A not-saved key (flags 2) works the same way.
# shellcheck disable=SC2154  # PEER_IF_a: set by peer_start (printf -v)
set -uo pipefail
source "${WGCORE_SOURCE_ROOT}/tests/nm/nm_env.sh"

nm_session_begin

peer_start a wireguard-go 51821 203.0.113.2/26 fd00:77::2/112
conf="${WGC_TEST_DIR}/wgs.conf"
client_conf "$conf" "203.0.113.1/26" a 51821 "203.0.113.2/32"
psk="$(wg genpsk)"
printf 'PresharedKey = %s\n' "$psk" >>"$conf"  # the [Peer] section is the file's last
printf '%s\n' "$psk" >"${WGC_TEST_DIR}/psk"
ns_exec "$NS_P" wg set "$PEER_IF_a" peer "$CLIENT_PUB" preshared-key "${WGC_TEST_DIR}/psk" allowed-ips 203.0.113.1/32 ||
  fail "peer with preshared key"
key="$(awk -F' = ' '$1 == "PrivateKey" { print $2 }' "$conf")"

nmc connection import type wgcore file "$conf" >/dev/null || fail "import"
secrets="$(nmc --show-secrets -g vpn.secrets connection show wgs)"
grep -qF "private-key = ${key}" <<<"$secrets" || fail "the private key is not a system-owned secret: ${secrets}"
grep -qF "peer.0.preshared-key = ${psk}" <<<"$secrets" || fail "the preshared key is not a system-owned secret"
nmc -g vpn.data connection show wgs | grepq -F -e "$key" -e "$psk" && fail "a key is in vpn.data"
# Agent-owned: NM stops storing them (the keyfile keeps only the flags).
nmc connection modify wgs +vpn.data private-key-flags=1 +vpn.data peer.0.preshared-key-flags=1 ||
  fail "set the secret flags to agent-owned"
nmc --show-secrets -g vpn.secrets connection show wgs | grepq "key" && fail "NM still stores agent-owned keys"
grep -rqF -e "$key" -e "$psk" "$NM_WORK/etc-nm/system-connections" && fail "an agent-owned key is in the keyfile"

# Export leaves out what NM does not hold, and says so: on the terminal and in the file.
nmc connection export wgs "${WGC_TEST_DIR}/exported.conf" >"${WGC_TEST_DIR}/export.out" 2>&1 || fail "export"
cat "${WGC_TEST_DIR}/export.out"
grep -q "left out private-key, peer.0.preshared-key" "${WGC_TEST_DIR}/export.out" ||
  fail "export did not say the agent-owned keys were left out"
head -n1 "${WGC_TEST_DIR}/exported.conf" | grepq "^# Not exported: private-key, peer.0.preshared-key" ||
  fail "the exported file does not say what it lacks: $(head -n2 "${WGC_TEST_DIR}/exported.conf")"
grep -qF -e "$key" -e "$psk" "${WGC_TEST_DIR}/exported.conf" && fail "an agent-owned key was exported"
grepq '^PrivateKey' <"${WGC_TEST_DIR}/exported.conf" && fail "a PrivateKey line without the key"

show_cmd nmc connection up wgs </dev/null >"${WGC_TEST_DIR}/nokey.out" 2>&1
rc=$?
cat "${WGC_TEST_DIR}/nokey.out"
((rc != 0)) || fail "activation without the keys succeeded"
grep -q "Error: Connection activation failed: No valid secrets" "${WGC_TEST_DIR}/nokey.out" || fail "no clear message for the missing keys"
grep -q "'wgs' needs private-key, peer.0.preshared-key" "${WGC_TEST_DIR}/nokey.out" ||
  fail "the service's request does not name the missing keys"
wait_for 5 nm_settled_to "$baseline" || fail "left behind after the failed activation: $(diff <(printf '%s\n' "$baseline") <(nm_state))"
pass "missing agent-owned keys: activation fails with '$(grep -E '^Error' "${WGC_TEST_DIR}/nokey.out" | head -n1)'"

printf 'vpn.secrets.private-key:%s\nvpn.secrets.peer.0.preshared-key:%s\n' "$key" "$psk" >"${WGC_TEST_DIR}/passwd"
show_cmd nmc connection up wgs passwd-file "${WGC_TEST_DIR}/passwd" || fail "activation with passwd-file failed"
ns_exec "$NS_NM" ping -c 2 -W 2 203.0.113.2 >/dev/null || fail "no ping with the keys from passwd-file"
nmc connection down wgs >/dev/null || fail "down"
pass "agent-owned private and preshared keys supplied by nmcli's agent from passwd-file"

printf '%s\n%s\n' "$key" "$psk" | show_cmd nmc --ask connection up wgs || fail "activation with nmcli --ask failed"
ns_exec "$NS_NM" ping -c 2 -W 2 203.0.113.2 >/dev/null || fail "no ping with the keys typed at nmcli --ask"
nmc connection down wgs >/dev/null || fail "down"
pass "agent-owned keys typed at nmcli --ask"

nmc connection modify wgs +vpn.data private-key-flags=2 || fail "set private-key-flags=2"
nmc connection up wgs passwd-file "${WGC_TEST_DIR}/passwd" >/dev/null || fail "activation of a not-saved key failed"
ns_exec "$NS_NM" ping -c 1 -W 2 203.0.113.2 >/dev/null || fail "no ping with a not-saved key"
nmc connection down wgs >/dev/null || fail "down"
grep -qF -e "$key" -e "$psk" "$NM_WORK/log/nm.log" && fail "a key reached NM's log (service or daemon)"
wait_for 5 nm_settled_to "$baseline" || fail "left behind: $(diff <(printf '%s\n' "$baseline") <(nm_state))"
pass "not-saved private key (flags 2) asked at activation; no key in the log; nothing left behind"
