# rel_lib.sh: helpers shared by the reliability tests (sourced after tests/lib/wg_pair.sh).
# Drop counters come from `wgcore show IFACE --json` (stock `wg show dump` has no drop counts).
# shellcheck shell=bash
# shellcheck disable=SC2034  # IMPL_*, FAMILY, KEY_*_PUB are read by tests/lib/wg_pair.sh and the tests

# drops_json NS IFACE: the device's drop counters as a JSON object {"reason": n, ...}.
drops_json() {
  ns_exec "$1" "$WGCORE_CLI" show "$2" --json |
    python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["interfaces"][0]["drops"]))' ||
    fail "wgcore show ${2} --json failed"
}

# peer_drops_json NS IFACE PUBKEY: one peer's drop counters as a JSON object.
peer_drops_json() {
  ns_exec "$1" "$WGCORE_CLI" show "$2" --json | python3 -c '
import json, sys
for p in json.load(sys.stdin)["interfaces"][0]["peers"]:
    if p["public_key"] == sys.argv[1]:
        print(json.dumps(p["drops"])); break
else:
    print("{}")' "$3" || fail "wgcore show ${2} --json failed"
}

# drop_count NS IFACE REASON...: the sum of the device's counters for the given reasons.
drop_count() {
  local ns="$1" iface="$2"
  shift 2
  drops_json "$ns" "$iface" | python3 -c '
import json, sys
d = json.load(sys.stdin); print(sum(d.get(r, 0) for r in sys.argv[1:]))' "$@"
}

# elapsed START: seconds since START (an $EPOCHREALTIME value), two decimals.
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

# --- a pair joined through wire.py (a userspace Ethernet wire) in a middle namespace ----------
# a/veth0 <-> m/wirea ==wire.py== m/wireb <-> b/veth0; both peers keep their real addresses.
WGC_WIRE="${WGC_WIRE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/wire.py}"

# wire_pair_setup IMPL_A IMPL_B: like pair_setup (IPv4 outer), with the wire in between.
wire_pair_setup() {
  IMPL_A="$1" IMPL_B="$2" FAMILY=4
  NS_A="$(ns_create a)" NS_B="$(ns_create b)" NS_M="$(ns_create m)"
  IF_A="wa${WGC_NS_SUFFIX}" IF_B="wb${WGC_NS_SUFFIX}"
  IF_A="${IF_A:0:15}" IF_B="${IF_B:0:15}"
  ns_sysctl "$NS_M" net.ipv6.conf.all.disable_ipv6 1
  ns_sysctl "$NS_M" net.ipv6.conf.default.disable_ipv6 1
  ns_veth "$NS_A" veth0 "$NS_M" wirea "${UNDER_A4}/24"
  ns_veth "$NS_B" veth0 "$NS_M" wireb "${UNDER_B4}/24"
  # wire.py copies frames with a plain packet socket: UDP GSO super-frames must be split before
  # they reach it (gso_max_segs 1 makes the kernel segment them in software).
  ip -n "$NS_A" link set veth0 gso_max_segs 1 || fail "gso_max_segs on ${NS_A} veth0"
  ip -n "$NS_B" link set veth0 gso_max_segs 1 || fail "gso_max_segs on ${NS_B} veth0"
  ip -n "$NS_M" link set wirea promisc on || fail "promisc on wirea"
  ip -n "$NS_M" link set wireb promisc on || fail "promisc on wireb"
  WIRE_CTL="${WGC_TEST_DIR}/wire.sock"
  ns_spawn "$NS_M" wire python3 "$WGC_WIRE" wirea wireb --control "$WIRE_CTL" --seed "${WGC_WIRE_SEED:-8}"
  wait_for 10 test -S "$WIRE_CTL" || fail "wire.py did not start"
  umask 077
  wg genkey >"${WGC_TEST_DIR}/a.key"
  wg genkey >"${WGC_TEST_DIR}/b.key"
  KEY_A_PUB="$(wg pubkey <"${WGC_TEST_DIR}/a.key")"
  KEY_B_PUB="$(wg pubkey <"${WGC_TEST_DIR}/b.key")"
  tunnel_up a
  tunnel_up b
}

# wire_cmd COMMAND...: one command to the wire; prints its JSON reply, fails on an error reply.
wire_cmd() {
  local reply
  reply="$(python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall((" ".join(sys.argv[2:]) + "\n").encode()); print(s.makefile().readline().strip())' "$WIRE_CTL" "$@")" ||
    fail "wire.py does not answer '$*'"
  [[ "$reply" != *'"error"'* ]] || fail "wire.py: $*: ${reply}"
  printf '%s\n' "$reply"
}

# jfield JSON PATH: a field of a JSON document, path as dotted keys (stats.ab.in).
jfield() {
  python3 -c '
import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$1" "$2"
}

# netem_available: whether this kernel has sch_netem (probed on the wire's side of the link).
netem_available() {
  ns_exec "$NS_M" tc qdisc add dev wirea root netem delay 0ms 2>/dev/null || return 1
  ns_exec "$NS_M" tc qdisc del dev wirea root 2>/dev/null
  return 0
}

# impair [loss=P] [dup=P] [reorder=P] [delay=S]: impair both directions of the wire, with tc netem
# when the kernel has it (IMPAIR_BY=netem), else in wire.py (IMPAIR_BY=wire). No argument: clear.
impair() {
  if [[ -z "${IMPAIR_BY:-}" ]]; then
    if [[ "${WGC_IMPAIR:-auto}" != wire ]] && netem_available; then IMPAIR_BY=netem; else IMPAIR_BY=wire; fi
  fi
  if [[ "$IMPAIR_BY" == wire ]]; then
    wire_cmd impair "$@" >/dev/null
    return
  fi
  local a k v args=()
  for a in "$@"; do
    k="${a%%=*}" v="${a#*=}"
    case "$k" in
      loss) args+=(loss "$(awk -v p="$v" 'BEGIN { print p * 100 }')%") ;;
      dup) args+=(duplicate "$(awk -v p="$v" 'BEGIN { print p * 100 }')%") ;;
      # netem reorders only delayed packets: a 10 ms delay for the rest, the chosen go at once
      reorder) args+=(delay 10ms reorder "$(awk -v p="$v" 'BEGIN { print p * 100 }')%" 50%) ;;
      delay) args+=(delay "$(awk -v s="$v" 'BEGIN { print s * 1000 }')ms") ;;
    esac
  done
  local dev
  for dev in wirea wireb; do
    ns_exec "$NS_M" tc qdisc del dev "$dev" root 2>/dev/null || true
    if ((${#args[@]})); then
      ns_exec "$NS_M" tc qdisc add dev "$dev" root netem "${args[@]}" || fail "tc netem ${args[*]} on ${dev}"
    fi
  done
}
