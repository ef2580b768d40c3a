#!/bin/bash
# cli_strict_test.sh WGCORED WGCORE NETWORKD FRR_WGD NM_SERVICE (issue 18 part 4): every tool's
# command line is strict. An unknown option, a missing value, a malformed number or a stray word
# is an error that names it, exit status 2, never silently taken (atoi's `--retry abc` = 1 s, or
# `wgcore show --jsno` read as an interface name). --help still exits 0.
set -u
export WGC_TEST_NAME=cli_strict
source "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
WGCORED_BIN="$1" WGCORE_BIN="$2" NETWORKD_BIN="$3" FRR_WGD_BIN="$4" NM_SERVICE_BIN="$5"

n=0
# refuses WANT_TEXT CMD...: CMD exits 2 and its stderr contains WANT_TEXT.
refuses() {
  local want="$1" out rc
  shift
  out=$("$@" 2>&1 >/dev/null)
  rc=$?
  [[ $rc -eq 2 ]] || fail "$(basename "$1") ${*:2}: exit status ${rc}, want 2 (${out})"
  grepq -F -- "$want" <<<"$out" || fail "$(basename "$1") ${*:2}: the error does not name '${want}': ${out}"
  ((++n))
}
helps() { "$@" >/dev/null 2>&1 || fail "$(basename "$1") ${*:2}: exit status $?, want 0"; ((++n)); }

refuses "'--bogus'" "$WGCORED_BIN" --bogus wg0
refuses "'--user'" "$WGCORED_BIN" --user
refuses "'x'" "$WGCORED_BIN" wg0 x
refuses "no interface name" "$WGCORED_BIN"
helps "$WGCORED_BIN" --help

refuses "'--jsno'" "$WGCORE_BIN" show --jsno
refuses "'-x'" "$WGCORE_BIN" show -x
refuses "'--backend'" "$WGCORE_BIN" up --backend
refuses "unknown backend 'foo'" "$WGCORE_BIN" up --backend foo wg0
refuses "'--bogus'" "$WGCORE_BIN" backend --bogus
refuses "Usage: wgcore down" "$WGCORE_BIN" down a b
refuses "unknown command 'bogus'" "$WGCORE_BIN" bogus
refuses "unknown option '--bogus'" "$WGCORE_BIN" --bogus
helps "$WGCORE_BIN" show --help
# Options after the operand are still options (GNU order), and the operand stays the operand.
out=$("$WGCORE_BIN" backend wgc-none-$$ --backend kernel 2>&1)
grepq "wgc-none-$$" <<<"$out" || fail "wgcore backend IFACE --backend kernel lost its operand: $out"
((++n))

refuses "--retry: 'abc' is not a number" "$NETWORKD_BIN" --retry abc check
refuses "--reresolve: '0' is not a number" "$NETWORKD_BIN" --reresolve 0 check
refuses "'--retry'" "$NETWORKD_BIN" check --retry
refuses "'--bogus'" "$NETWORKD_BIN" --bogus
refuses "unexpected argument 'extra'" "$NETWORKD_BIN" status extra
refuses "--json is for status only" "$NETWORKD_BIN" check --json
refuses "unknown backend 'fast'" "$NETWORKD_BIN" --backend fast check
helps "$NETWORKD_BIN" --help

refuses "'--bogus'" "$FRR_WGD_BIN" --bogus show peers
refuses "'f'" "$FRR_WGD_BIN" -f
refuses "unknown command 'bogus'" "$FRR_WGD_BIN" bogus
helps "$FRR_WGD_BIN" --help

refuses "--bogus" "$NM_SERVICE_BIN" --bogus
refuses "--bus-name" "$NM_SERVICE_BIN" --bus-name
refuses "unexpected argument 'extra'" "$NM_SERVICE_BIN" extra
helps "$NM_SERVICE_BIN" --help

pass "${n} command lines of wgcored, wgcore, wgcore-networkd, frr-wgd and nm-wgcore-service: bad ones exit 2 naming the option or word, --help exits 0"
