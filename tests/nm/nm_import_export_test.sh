#!/usr/bin/env bash
# Suite nm: `nmcli connection import type wgcore` and `nmcli connection export` against a real
# NetworkManager with the built editor plugin: every good fixture round-trips exactly (export
# equals the file, or its .canonical form), the secrets land in vpn.secrets and never in
# vpn.data, and every malformed fixture is refused with its documented file:line: key message.
set -uo pipefail
source "${WGCORE_SOURCE_ROOT}/tests/nm/nm_env.sh"

FIX="${WGCORE_SOURCE_ROOT}/tests/fixtures/nm"
# shellcheck disable=SC2034  # read by nm_start
NS_NM="$(ns_create nm)"
nm_start

n=0
for f in "$FIX"/good/*.conf; do
  name="$(basename "$f" .conf)"
  # The file NM imports is a copy under the connection's name (import names it by the file).
  cp "$f" "${WGC_TEST_DIR}/${name}.conf"
  nmc connection import type wgcore file "${WGC_TEST_DIR}/${name}.conf" >/dev/null ||
    fail "import of good/${name}.conf refused"
  [[ "$(nmc -g vpn.service-type connection show "$name")" == org.freedesktop.NetworkManager.wgcore ]] ||
    fail "${name}: not a wgcore VPN profile"
  data="$(nmc -g vpn.data connection show "$name")"
  grep -qiE 'private-key *=|preshared-key *=' <<<"$data" && fail "${name}: a key is in vpn.data: ${data}"
  want="$f"
  [[ -f "$FIX/good/${name}.canonical" ]] && want="$FIX/good/${name}.canonical"
  nmc connection export "$name" "${WGC_TEST_DIR}/${name}.out" >/dev/null || fail "export of ${name} failed"
  diff -u "$want" "${WGC_TEST_DIR}/${name}.out" || fail "${name}: export differs from $(basename "$want")"
  nmc connection delete "$name" >/dev/null || fail "delete ${name}"
  n=$((n + 1))
done
((n > 0)) || fail "no good fixtures in ${FIX}/good"
pass "${n} good fixtures: nmcli import -> export reproduces them exactly"

n=0
for f in "$FIX"/bad/*.conf; do
  name="$(basename "$f" .conf)"
  cp "$f" "${WGC_TEST_DIR}/${name}.conf"
  out="$(nmc connection import type wgcore file "${WGC_TEST_DIR}/${name}.conf" 2>&1)" &&
    fail "bad/${name}.conf was imported"
  # The plugin names the file by the path it was given.
  want="$(sed "s|^${name}.conf|${WGC_TEST_DIR}/${name}.conf|" "$FIX/bad/${name}.err")"
  grep -qF -- "$want" <<<"$out" || fail "bad/${name}.conf: expected '${want}', nmcli said: ${out}"
  n=$((n + 1))
done
((n > 0)) || fail "no bad fixtures in ${FIX}/bad"
nmc -g NAME connection show | grepq -v '^lo$' && fail "a refused import left a profile: $(nmc -g NAME connection show)"
pass "${n} malformed fixtures refused with their file:line: key messages"
nmc connection import type wgcore file "${WGC_TEST_DIR}/bad_prefix.conf" 2>&1 | sed 's/^/example: /' || true
