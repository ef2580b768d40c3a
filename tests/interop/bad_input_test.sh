#!/bin/bash
# Bad input: malformed UAPI requests get an errno answer, leave the configuration unchanged and
# the daemon serving; 100 000 random UDP datagrams at the listening port crash nothing and the
# tunnel keeps carrying traffic.
set -euo pipefail
WGC_TEST_NAME="bad-input"
# shellcheck source=tests/lib/wg_pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/wg_pair.sh"

pair_setup wgcored wgcored 4
pair_configure both
wait_for 10 ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" || fail "no initial ping"
sock="/var/run/wireguard/${IF_A}.sock"

# uapi REQUEST: send a raw request (backslash escapes like \n are decoded here, since shell
# command substitution would strip the request's terminating blank line), print the answer.
uapi() {
  python3 - "$sock" "$1" <<'PY'
import codecs, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1]); s.sendall(codecs.decode(sys.argv[2], "unicode_escape").encode())
out = b""
while not out.endswith(b"\n\n"):
    b = s.recv(65536)
    if not b: break
    out += b
print(out.decode(), end="")
PY
}

config() { ns_exec "$NS_A" wg showconf "$IF_A"; }
before="$(config)"
pub="$(wg pubkey <"${WGC_TEST_DIR}/b.key")"
hexpub="$(printf '%s' "$pub" | base64 -d | od -An -tx1 | tr -d ' \n')"
declare -a bad=(
  "set=1\nnot_a_key=1\n\n"
  "set=1\nprivate_key=abcd\n\n"
  "set=1\nprivate_key=$(printf 'z%.0s' {1..64})\n\n"
  "set=1\nlisten_port=70000\n\n"
  "set=1\npublic_key=${hexpub}\nallowed_ip=300.1.1.1/32\n\n"
  "set=1\npublic_key=${hexpub}\nendpoint=nowhere\n\n"
  "set=1\npersistent_keepalive_interval=5\n\n"
  "set=1\npublic_key=${hexpub}\nprotocol_version=2\n\n"
  "set=1\nfwmark=0x10\npublic_key=${hexpub}\nallowed_ip=198.18.0.0/15\nallowed_ip=bad\n\n"
)
for req in "${bad[@]}"; do
  ans="$(uapi "$req")" || fail "no answer (or a hang) for: ${req}"
  [[ "$ans" =~ errno=([0-9-]+) ]] || fail "no errno answer to: ${req}"
  [[ "${BASH_REMATCH[1]}" != 0 ]] || fail "errno=0 for a bad request: ${req}"
  [[ "$(config)" == "$before" ]] || fail "configuration changed by a rejected request: ${req}"
done
pass "${#bad[@]} malformed UAPI requests answered with errno, configuration unchanged"
# An unknown operation is closed without an answer, as wireguard-go does.
ans="$(uapi 'get=2\n\n')" || fail "unknown operation hung the connection"
[[ -z "$ans" ]] || fail "unknown operation answered: ${ans}"
[[ "$(config)" == "$before" ]] || fail "configuration changed by an unknown operation"
ns_exec "$NS_A" wg show "$IF_A" >/dev/null || fail "daemon stopped serving UAPI"
ans="$(uapi 'set=1\nfwmark=0\n\n')"
[[ "$ans" == *"errno=0"* ]] || fail "a good request after the bad ones failed: ${ans}"
pass "daemon keeps serving good requests"

# 100 000 random datagrams, with valid-looking type bytes mixed in, from another address.
ip -n "$NS_B" addr add 198.51.100.99/24 dev veth0
ns_exec "$NS_B" python3 - "$UNDER_A4" "$PORT_A" <<'PY'
import os, random, socket, sys
random.seed(1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.99", 0))
dst = (sys.argv[1], int(sys.argv[2]))
sizes = [0, 1, 3, 4, 31, 32, 33, 64, 92, 148, 200, 1400]
for i in range(100000):
    n = random.choice(sizes)
    b = bytearray(os.urandom(n))
    if n >= 4 and i % 2 == 0:
        b[0] = random.choice([1, 2, 3, 4]); b[1:4] = b"\0\0\0"
    try:
        s.sendto(bytes(b), dst)
    except BlockingIOError:
        pass
PY
kill -0 "$PID_A" || fail "wgcored died under random datagrams"
wait_for 10 ns_exec "$NS_A" ping -c1 -W1 "$TUN_B4" || fail "tunnel broken after random datagrams"
pass "100000 random datagrams: daemon alive, tunnel still works"

# Every dropped datagram is counted by reason (wgcore show --json), and stock `wg` still reads the
# answer that carries those counters.
json="$(ns_exec "$NS_A" "$WGCORE_CLI" show "$IF_A" --json)" || fail "wgcore show --json failed"
python3 - "$json" <<'PY' || fail "drop counters missing or wrong: ${json}"
import json, sys
d = json.loads(sys.argv[1])["interfaces"][0]["drops"]
# Sizes 0..3, 33, 200, 1400 with random types, and wrong lengths for handshake types.
assert d.get("invalid_size", 0) > 10000, d
# Valid-looking data headers with random receiver indices.
assert d.get("unknown_receiver_index", 0) > 1000, d
# Random 148/92-byte "handshakes" cannot carry a valid mac1.
assert d.get("bad_mac1", 0) > 100, d
PY
ns_exec "$NS_A" wg show "$IF_A" dump >/dev/null || fail "stock wg cannot read an answer with counters"
pass "random datagrams counted by reason; stock wg unaffected"
