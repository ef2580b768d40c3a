#!/bin/bash
# Handshake flood (issue #8): wgcored on side a is flooded with >= 50 k MAC1-valid initiations a
# second from random spoofed sources, plus one cookie-aware source that repeats a configured
# peer's valid initiation with a valid mac2. Checked:
#   - cookies engage (cookie_required drops), the per-source rate limiter holds the
#     cookie-aware source (almost everything it sends is dropped before the handshake code),
#   - wgcored's CPU time during the flood stays bounded (one core at most, it is one loop thread),
#   - a legitimate peer b, configured only after the flood started, completes a fresh handshake
#     (through the cookie exchange) and passes traffic while the flood goes on.
# Figures are printed as "FIGURE: ..." lines (docs/security-reliability.md quotes them).
# Topology: b --veth-- a --veth-- f (flooder). Spoofed sources are 198.18.0.0/16, routed by a to f,
# whose kernel drops a's cookie replies to them (f does not forward).
set -euo pipefail
WGC_TEST_NAME="handshake_flood"
# shellcheck source=tests/lib/wg_pair.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/wg_pair.sh"
# shellcheck source=tests/reliability/rel_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/rel_lib.sh"

WG_FLOOD="${WG_FLOOD:-${WGCORE_BUILD_ROOT}/tests/reliability/wg_flood}"
[[ -x "$WG_FLOOD" ]] || fail "wg_flood not built at ${WG_FLOOD}"
IMPL_LEGIT="${1:-wgcored}"
FLOOD_RATE="${WGC_FLOOD_RATE:-60000}"     # asked of the generator (spoofed initiations/s)
FLOOD_SECONDS="${WGC_FLOOD_SECONDS:-50}"  # cap; the flood is stopped once b's checks are done
# b retries every REKEY_TIMEOUT (5 s) + jitter; it needs one attempt to get the cookie and one
# with mac2, and on a busy host a share of them is lost in a's full socket buffer.
LEGIT_WAIT=35
MIN_RATE="${WGC_FLOOD_MIN_RATE:-50000}"   # the issue's bar for the rate actually achieved
PING_MIN="${WGC_FLOOD_PING_MIN:-16}"      # of 20 pings from b during the flood: at most 20 % lost (see the doc)

IMPL_A=wgcored IMPL_B="$IMPL_LEGIT" FAMILY=4
pair_underlay
# a's debug log would add a line per cookie reply (50 k lines/s): the logger, not the daemon,
# would be measured. b logs its handshake attempts.
WGC_LOG_LEVEL=error tunnel_up a
WGC_LOG_LEVEL=debug tunnel_up b
NS_F="$(ns_create f)"
ns_veth "$NS_A" vethf "$NS_F" veth0 198.19.255.1/30 198.19.255.2/30
ip -n "$NS_A" route add 198.18.0.0/16 via 198.19.255.2 || fail "route for spoofed sources"
# a configured third peer c whose real initiation the flooder repeats from 198.19.255.2
umask 077
wg genkey >"${WGC_TEST_DIR}/c.key"
KEY_C_PUB="$(wg pubkey <"${WGC_TEST_DIR}/c.key")"
# a knows b and c; b is configured later, during the flood.
ns_exec "$NS_A" wg setconf "$IF_A" "$(write_conf a no)" || fail "wg setconf on a"
ns_exec "$NS_A" wg set "$IF_A" peer "$KEY_C_PUB" allowed-ips 203.0.113.3/32 || fail "peer c on a"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# udp_snmp NS FIELD: a namespace's UDP counter (InDatagrams: reached a socket; RcvbufErrors: dropped
# by the kernel because wgcored's socket buffer was full).
udp_snmp() {
  # shellcheck disable=SC2016  # an awk program
  ns_exec "$1" awk -v f="$2" '/^Udp:/ { if (!n++) { for (i = 1; i <= NF; i++) if ($i == f) c = i } else print $c }' /proc/net/snmp
}
hz="$(getconf CLK_TCK)"
drops_before="$(drops_json "$NS_A" "$IF_A")"
cpu0="$(cpu_ticks "$PID_A")" t0="$EPOCHREALTIME"
udp_in0="$(udp_snmp "$NS_A" InDatagrams)" udp_drop0="$(udp_snmp "$NS_A" RcvbufErrors)"

ns_spawn "$NS_F" flood "$WG_FLOOD" --responder-key "$KEY_A_PUB" --target 198.19.255.1:"$PORT_A" \
  --spoof-net 198.18.0.0/16 --rate "$FLOOD_RATE" --duration "$FLOOD_SECONDS" \
  --max-packets "$((FLOOD_RATE * FLOOD_SECONDS))" \
  --peer-key "${WGC_TEST_DIR}/c.key" --peer-source 198.19.255.2 --peer-rate 2000
flood_pid=$WGC_LAST_PID

# The legitimate peer gets its configuration 1.5 s into the flood: its first handshake must
# happen under load (cookie reply, then a retry with mac2 after REKEY_TIMEOUT).
sleep 1.5
load_cpu="$(cpu_ticks "$PID_A")" load_t="$EPOCHREALTIME"
ns_exec "$NS_B" wg setconf "$IF_B" "$(write_conf b yes)" || fail "wg setconf on b"
hs_start="$EPOCHREALTIME"
if ! wait_for "$LEGIT_WAIT" ns_exec "$NS_B" ping -c1 -W1 "$TUN_A4"; then
  echo "a's drops: $(drops_json "$NS_A" "$IF_A"); of b's packets: $(peer_drops_json "$NS_A" "$IF_A" "$KEY_B_PUB")" >&2
  [[ "$IMPL_LEGIT" != wgcored ]] || echo "b's drops: $(drops_json "$NS_B" "$IF_B")" >&2
  ns_exec "$NS_A" wg show "$IF_A" dump >&2
  ns_exec "$NS_B" wg show "$IF_B" dump >&2
  fail "legitimate peer b (${IMPL_LEGIT}) got no handshake and traffic through during the flood"
fi
hs_secs="$(elapsed "$hs_start")"
kill -0 "$flood_pid" 2>/dev/null || fail "the flood ended before b's handshake: the figure would not be under load"
ping_out="$(ns_exec "$NS_B" ping -c 20 -i 0.1 -W1 "$TUN_A4" || true)"
ping_ok="$(grep -c 'bytes from' <<<"$ping_out" || true)"
tcp_start="$EPOCHREALTIME"
# In a subshell: a failed transfer must not hide the figures below.
tcp_ok=yes
(transfer_check "$NS_B" "$NS_A" "$TUN_A4" 1) || tcp_ok=no
tcp_secs="$(elapsed "$tcp_start")"
kill -0 "$flood_pid" 2>/dev/null || fail "the flood ended before b's traffic checks were done"
kill -TERM "$flood_pid"
wait "$flood_pid" || fail "wg_flood failed"
cpu1="$(cpu_ticks "$PID_A")" t1="$EPOCHREALTIME"
drops_after="$(drops_json "$NS_A" "$IF_A")"
udp_in=$(($(udp_snmp "$NS_A" InDatagrams) - udp_in0)) udp_drop=$(($(udp_snmp "$NS_A" RcvbufErrors) - udp_drop0))
stats="$(tail -n 1 "${WGC_TEST_DIR}/flood.log")"
printf 'wg_flood: %s\n' "$stats"

jget() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], 0))' "$1" "$2"; }
ddelta() { python3 -c 'import json,sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2]); print(b.get(sys.argv[3], 0) - a.get(sys.argv[3], 0))' \
  "$drops_before" "$drops_after" "$1"; }
# Per-peer drops of c on a: what of c's cookie-carrying repeats got past the rate limiter (each
# one after the first accepted is a replayed or too-frequent initiation).
c_drops="$(peer_drops_json "$NS_A" "$IF_A" "$KEY_C_PUB")"

sent="$(jget "$stats" spoofed_sent)" rate="$(jget "$stats" spoofed_rate)" secs="$(jget "$stats" spoofed_seconds)"
c_sent="$(jget "$stats" peer_sent_with_cookie)" c_cookie="$(jget "$stats" peer_got_cookie)"
c_admitted="$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d.get("handshake_replay",0)+d.get("handshake_flood",0))' "$c_drops")"
cookie_req="$(ddelta cookie_required)" ratelimited="$(ddelta rate_limited)" invalid="$(ddelta handshake_invalid)"
cpu_cores="$(awk -v a="$cpu0" -v b="$cpu1" -v t0="$t0" -v t1="$t1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz / (t1 - t0) }')"
cpu_cores_load="$(awk -v a="$load_cpu" -v b="$cpu1" -v t0="$load_t" -v t1="$t1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz / (t1 - t0) }')"
rss_kb="$(awk '/^VmHWM/ { print $2 }' "/proc/${PID_A}/status")"

echo "FIGURE: flood generator: ${sent} spoofed MAC1-valid initiations in ${secs} s = ${rate}/s (asked ${FLOOD_RATE}/s)"
echo "FIGURE: a's kernel: ${udp_in} datagrams reached wgcored's socket, ${udp_drop} dropped on its full receive buffer"
echo "FIGURE: a's drops during the flood: cookie_required +${cookie_req}, rate_limited +${ratelimited}, handshake_invalid +${invalid}"
echo "FIGURE: a's drops (all): $(python3 -c 'import json,sys; a,b=json.loads(sys.argv[1]),json.loads(sys.argv[2]); print(", ".join(f"{k} +{b[k]-a.get(k,0)}" for k in sorted(b) if b[k]-a.get(k,0)))' "$drops_before" "$drops_after")"
echo "FIGURE: cookie-aware source c: cookie received ${c_cookie}, ${c_sent} initiations with valid mac2, ${c_admitted} got past the rate limiter (c's drops: ${c_drops})"
echo "FIGURE: wgcored CPU during the flood: ${cpu_cores} cores on average (${cpu_cores_load} from b's configuration on), peak RSS ${rss_kb} KiB"
echo "FIGURE: drops of b's packets at a (per peer): $(peer_drops_json "$NS_A" "$IF_A" "$KEY_B_PUB")$([[ "$IMPL_LEGIT" == wgcored ]] && echo "; b's own drops: $(drops_json "$NS_B" "$IF_B")")"
echo "FIGURE: legitimate ${IMPL_LEGIT} peer configured 1.5 s into the flood: handshake + first ping after ${hs_secs} s; then ${ping_ok}/20 pings answered and 1 MiB over TCP (${tcp_ok}) in ${tcp_secs} s, all during the flood"

# The protective behaviour, asserted.
awk -v r="$rate" -v m="$MIN_RATE" 'BEGIN { exit !(r >= m) }' ||
  fail "the generator reached only ${rate}/s (< ${MIN_RATE}/s): this machine cannot produce the flood the issue asks for"
((cookie_req > 0)) || fail "no cookie replies under a flood of ${sent} initiations: cookies never engaged"
[[ "$c_cookie" == "True" || "$c_cookie" == "true" ]] || fail "the cookie-aware source never got a cookie reply"
((c_sent >= 1000)) || fail "the cookie-aware source sent only ${c_sent} initiations with mac2"
# The limiter lets 20/s (burst 5) through while under load; allow the short windows where the
# queue drained and load mode lapsed. Without the limiter, all c_sent would reach the handshake code.
((c_admitted * 10 <= c_sent)) ||
  fail "per-source rate limiter did not hold: ${c_admitted} of ${c_sent} cookie-carrying initiations from one source got through"
((ratelimited > 0)) || fail "no rate_limited drops"
awk -v c="$cpu_cores" 'BEGIN { exit !(c <= 1.1) }' || fail "wgcored used ${cpu_cores} cores during the flood"
[[ "$tcp_ok" == yes ]] || fail "b's 1 MiB TCP transfer to a failed during the flood"
((ping_ok >= PING_MIN)) || fail "only ${ping_ok}/20 pings from b answered during the flood"
pass "flood of ${rate}/s: cookies engaged, rate limiter held, CPU ${cpu_cores} cores, ${IMPL_LEGIT} peer through in ${hs_secs} s"
