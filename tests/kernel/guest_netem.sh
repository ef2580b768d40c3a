# shellcheck shell=bash source=tests/kernel/guest_lib.sh
# guest_netem.sh: runs inside the QEMU guest (run_in_qemu.sh) as root, under bash. The faults of
# issue 8 with the real `tc netem` (the host kernel has no sch_netem; Debian's cloud kernel in
# the guest has it as a module): kernel WireGuard (wgc-k) <-> wgcored (wgc-u) over a veth pair
# whose two ends both carry netem, so each direction is impaired.
#   1. 10 % loss, 10 % duplication, 25 % reordering, 200 ms delay: pings get through, none is
#      delivered twice, and wgcored counts the duplicated datagrams as replays;
#   0. ECN (RFC 6040) against the kernel module: netem marks CE instead of dropping on
#      ECN-capable packets (`loss 50% ecn`), one direction at a time; ECT(0) inner traffic
#      (tos_probe) must arrive complete, about half of it CE, in both directions: the sender's
#      outer header was ECT (else netem would have dropped it) and the receiver copied the mark
#      inward, whichever of the kernel and wgcored sent and received;
#   2. on a poor link (5 % loss, 100 ms delay each way): wgcored's endpoint moves to a new
#      address and the kernel follows it; the kernel peer restarts (device deleted and created
#      again with its configuration) and wgcored, still holding the old session, gets traffic
#      through within the timers' bounds; wgcored restarts with its configuration re-applied
#      and the kernel, holding the old session, recovers within the same bounds.
set -euo pipefail
source /test/guest_lib.sh
# KEEPALIVE_TIMEOUT (10 s) + REKEY_TIMEOUT (5 s) + jitter, plus two lost handshake attempts (5 s
# each) on the lossy link; as tests/reliability/faults_test.sh.
RECOVERY_BOUND=30

guest_topology
kernel_up
wgcored_up
sleep 1  # IPv6 DAD on the tunnel addresses
ip netns exec wgc-k ping -c 1 -W 5 10.77.0.2 >/dev/null || fail "no tunnel before impairment"

# impair NETEM-ARGS...: the same netem qdisc on both ends of the veth (both directions).
impair() {
  tc -n wgc-k qdisc replace dev veth-k root netem "$@" || fail "tc netem $* on veth-k"
  tc -n wgc-u qdisc replace dev veth-u root netem "$@" || fail "tc netem $* on veth-u"
}

# recovers_within SECONDS NS ADDR: polls with one-second pings until one is answered; prints
# the seconds it took, fails after SECONDS.
recovers_within() {
  local bound=$1 ns=$2 addr=$3 start=$SECONDS
  while ! ip netns exec "$ns" ping -c 1 -W 1 "$addr" >/dev/null 2>&1; do
    (( SECONDS - start < bound )) || return 1
  done
  echo $((SECONDS - start))
}

replays() {  # wgcored's replay drop counter (wgcore show: "dropped: ..., replay N, ...")
  ip netns exec wgc-u wgcore show wgu | sed -n 's/.*dropped:.*replay \([0-9]*\).*/\1/p' | head -n 1
}

# --- 0. ECN against the kernel module --------------------------------------------------------------
# ecn_case SENDER-NS RECEIVER-NS RECEIVER-ADDR NETEM-DEV: 100 ECT(0) datagrams; netem on the
# sender's veth marks half of them CE.
ecn_case() {
  local from=$1 to=$2 addr=$3 dev=$4 port=$((40000 + RANDOM % 20000)) out counts ect ce other
  tc -n "$from" qdisc replace dev "$dev" root netem loss 50% ecn || fail "tc netem ecn on ${dev}"
  rm -f /tmp/ready
  ip netns exec "$to" tos_probe recv "$addr" "$port" 100 3 /tmp/ready >/tmp/ecn.out &
  local pid=$!
  for _ in $(seq 50); do [[ -s /tmp/ready ]] && break; sleep 0.1; done
  ip netns exec "$from" tos_probe send "$addr" "$port" 100 0x02 || fail "tos_probe send"
  wait "$pid" || fail "tos_probe recv"
  tc -n "$from" qdisc del dev "$dev" root
  out=$(cat /tmp/ecn.out)
  ect=$(sed -n 's/.*"2": \([0-9]*\).*/\1/p' <<<"$out"); ect=${ect:-0}
  ce=$(sed -n 's/.*"3": \([0-9]*\).*/\1/p' <<<"$out"); ce=${ce:-0}
  (( ect + ce == 100 )) || fail "ECN ${from} -> ${to}: ${out} (100 ECT(0) datagrams sent; a drop means the outer header was not ECT)"
  (( ce > 0 && ect > 0 )) || fail "ECN ${from} -> ${to}: ${out} (netem marked about half: CE must reach the inner packets)"
  ECN_CE=$ce
}
ecn_case wgc-u wgc-k 10.77.0.1 veth-u
pass "ECN wgcored -> kernel: 100/100 ECT(0) datagrams through netem's CE marking, ${ECN_CE} arrived CE"
ecn_case wgc-k wgc-u 10.77.0.2 veth-k
pass "ECN kernel -> wgcored: 100/100 ECT(0) datagrams through netem's CE marking, ${ECN_CE} arrived CE"
ecn_case wgc-k wgc-u fd77::2 veth-k
pass "ECN kernel -> wgcored, IPv6 inside: ${ECN_CE} of 100 arrived CE, none lost"
ecn_case wgc-u wgc-k fd77::1 veth-u
pass "ECN wgcored -> kernel, IPv6 inside: ${ECN_CE} of 100 arrived CE, none lost"

# --- 1. loss, duplication, reordering, delay ----------------------------------------------------
# netem reorders by sending the chosen packets at once and delaying the rest.
impair delay 200ms loss 10% duplicate 10% reorder 25% 50%
tc -n wgc-k qdisc show dev veth-k | grepq netem || fail "netem not installed"
replays_before=$(replays); replays_before=${replays_before:-0}
out=$(ip netns exec wgc-k ping -c 100 -i 0.05 -W 2 10.77.0.2 2>&1 || true)
answered=$(grep -c 'bytes from' <<<"$out" || true)
dups=$(grep -c 'DUP!' <<<"$out" || true)
replays_after=$(replays); replays_after=${replays_after:-0}
# Each ping crosses the lossy link twice (0.9 * 0.9 = 81 % expected); 50 % leaves room for
# chance, a link that carried nothing cannot pass.
(( answered >= 50 )) || { echo "$out" | tail -n 3; fail "only ${answered}/100 pings answered"; }
(( dups == 0 )) || fail "${dups} pings were delivered twice (duplicates must be dropped as replays)"
(( replays_after > replays_before )) ||
  fail "wgcored counted no replayed datagram (replay counter ${replays_before} -> ${replays_after})"
pass "netem loss 10 %, duplicate 10 %, reorder 25 %, delay 200 ms: ${answered}/100 pings answered, none twice; wgcored dropped $((replays_after - replays_before)) replays"

# --- 2. a poor link: endpoint change, peer restart, wgcored restart ------------------------------
impair delay 100ms loss 5%

# wgcored's side moves to a new underlay address; its next datagrams come from there and the
# kernel, authenticating them, updates the peer's endpoint.
# (Deleted first: deleting a primary address takes its secondaries with it.)
ip -n wgc-u addr del 198.51.100.2/24 dev veth-u
ip -n wgc-u addr add 198.51.100.3/24 dev veth-u
t=$(recovers_within "$RECOVERY_BOUND" wgc-u 10.77.0.1) || fail "no traffic from the new address within ${RECOVERY_BOUND} s"
ip netns exec wgc-k wg show wgk endpoints | grepq '198.51.100.3:51821' ||
  fail "the kernel did not follow wgcored's new endpoint: $(ip netns exec wgc-k wg show wgk endpoints)"
ip netns exec wgc-k ping -c 1 -W 3 10.77.0.2 >/dev/null || ip netns exec wgc-k ping -c 1 -W 3 10.77.0.2 >/dev/null ||
  fail "kernel -> wgcored after the endpoint change"
pass "endpoint change: traffic from 198.51.100.3 after ${t} s, the kernel follows it"
# Back to the configured address, so the restarted kernel peer below finds wgcored there.
ip -n wgc-u addr del 198.51.100.3/24 dev veth-u
ip -n wgc-u addr add 198.51.100.2/24 dev veth-u
recovers_within "$RECOVERY_BOUND" wgc-u 10.77.0.1 >/dev/null || fail "no traffic after moving back"

# The kernel peer restarts: its device and sessions are gone; wgcored still holds the old
# session and must notice (no answer, REKEY) and handshake again.
ip netns exec wgc-k "$kbt" delete wgk
kernel_up
t=$(recovers_within "$RECOVERY_BOUND" wgc-u 10.77.0.1) || fail "wgcored did not recover from the peer's restart within ${RECOVERY_BOUND} s"
pass "kernel peer restarted: wgcored's traffic gets through again after ${t} s (bound ${RECOVERY_BOUND} s)"

# wgcored restarts with its configuration re-applied; the kernel holds the old session.
wgcored_down
wgcored_up
t=$(recovers_within "$RECOVERY_BOUND" wgc-k 10.77.0.2) || fail "the kernel did not recover from wgcored's restart within ${RECOVERY_BOUND} s"
pass "wgcored restarted, configuration re-applied: the kernel's traffic gets through again after ${t} s"

wgcored_down
ip netns exec wgc-k "$kbt" delete wgk
echo "GUEST_NETEM_OK"
