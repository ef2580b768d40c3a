#!/bin/bash
# JSON output stays JSON whatever bytes a name holds (issue 18 part 4): Linux interface names may
# carry any byte >= 0x80 but a few, so wgcore show --json must never pass invalid UTF-8 through.
# Two wgcored interfaces whose names hold invalid UTF-8 (stray continuation bytes, an overlong
# lead, 0xff, a surrogate's encoding, a truncated sequence) and one valid UTF-8 name; the output
# of `wgcore show --json` and `wgcore show NAME --json` is decoded strictly as UTF-8 and parsed.
set -u
export WGC_TEST_NAME=json_bytes
source "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
require_cmd python3 wg

NS="$(ns_create j)"
names=($'w\x80\xbf\xc0\xff'"${WGC_NS_SUFFIX:0:4}" $'w\xed\xbf\x80\xe2\x82'"${WGC_NS_SUFFIX:0:4}" $'w\xc3\xa9'"${WGC_NS_SUFFIX:0:4}")
for n in "${names[@]}"; do
  ns_spawn "$NS" wgcored env WG_PROCESS_FOREGROUND=1 "$WGCORED" -f "$n"
  wait_for 10 test -S "/var/run/wireguard/$n.sock" || fail "wgcored did not serve an interface named $(printf '%q' "$n")"
  on_exit "rm -f '/var/run/wireguard/$n.sock'"
done
strict() { # reads JSON bytes; fails unless they are strict UTF-8 JSON; prints the names found
  python3 -c '
import json, sys
data = sys.stdin.buffer.read()
doc = json.loads(data.decode("utf-8", errors="strict"))
print("\n".join(i["name"] for i in doc.get("interfaces", [doc])))'
}
out=$(ns_exec "$NS" "$WGCORE_CLI" show --json | strict) || fail "wgcore show --json is not valid UTF-8 JSON"
[[ $(grep -c . <<<"$out") == 3 ]] || fail "wgcore show --json lists $(grep -c . <<<"$out") interfaces, want 3: $out"
grepq -x 'wé'"${WGC_NS_SUFFIX:0:4}" <<<"$out" || fail "a valid UTF-8 name did not come through unchanged: $out"
grepq -x 'w�����'"${WGC_NS_SUFFIX:0:4}" <<<"$out" || fail "invalid bytes not replaced by U+FFFD one by one: $out"
for n in "${names[@]}"; do
  ns_exec "$NS" "$WGCORE_CLI" show "$n" --json | strict >/dev/null || fail "wgcore show $(printf '%q' "$n") --json is not valid UTF-8 JSON"
done
pass "wgcore show --json with interface names holding invalid UTF-8: strict UTF-8 JSON, invalid bytes as U+FFFD, valid UTF-8 unchanged"
