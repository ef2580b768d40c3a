#!/bin/bash
# embed suite (issue 17): libwgcore as an application developer gets it. From a staged `meson
# install --destdir`, the examples are built out of tree with the very commands of
# docs/embedding.md (`pkg-config wgcore` only), then run as an unprivileged user (uid 65534, no
# capabilities) in network namespaces this test makes:
#   - examples/two_peers: two embedded peers in one program exchange a packet;
#   - examples/ping_peer: an embedded peer on a UDP socket pings wgcored's tunnel address, then
#     wireguard-go's (Debian's), through a real handshake.
# Also: libwgcore.so.0 has its SONAME and exports exactly the public API (nm -D).
set -u
export WGC_TEST_NAME=embed_examples
source "$(dirname "$0")/../lib/netns.sh"
require_cmd pkg-config cc c++ setpriv nm c++filt wg wireguard-go meson python3
ROOT="$WGCORE_SOURCE_ROOT"

# --- the staged install ----------------------------------------------------------------------
STAGE="$WGC_TEST_DIR/stage"
meson install -C "$WGCORE_BUILD_ROOT" --destdir "$STAGE" --no-rebuild --quiet >"$WGC_TEST_DIR/install.log" 2>&1 ||
  { cat "$WGC_TEST_DIR/install.log"; fail "meson install --destdir"; }
pc=$(find "$STAGE" -name wgcore.pc -path '*/pkgconfig/*' | head -n 1)
[[ -n "$pc" ]] || fail "no wgcore.pc in the staged install"
so=$(find "$STAGE" -name 'libwgcore.so.0' | head -n 1)
[[ -n "$so" ]] || fail "no libwgcore.so.0 in the staged install"
[[ -f "$(dirname "$so")/../../../include/wgcore.h" || -n "$(find "$STAGE" -name wgcore.h)" ]] || fail "wgcore.h not installed"
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$STAGE"
LIBDIR="$(dirname "$so")"

# --- exports: the SONAME, and nothing but the public API --------------------------------------
readelf -d "$so" | grepq 'SONAME.*\[libwgcore\.so\.0\]' || fail "libwgcore.so.0 has no SONAME libwgcore.so.0"
nm -D --defined-only "$so" | awk '$2 ~ /^[TWVBDR]$/ { print $3 }' | sed 's/@.*//' | sort -u >"$WGC_TEST_DIR/exports.txt"
c_decl=$(grep -oE '\bwgcore_[a-z0-9_]+\(' "$ROOT/libwgcore/include/wgcore.h" | tr -d '(' | sort -u)
c_exp=$(grep -E '^wgcore_' "$WGC_TEST_DIR/exports.txt" | sort -u)
[[ "$c_decl" == "$c_exp" ]] || fail "C exports differ from wgcore.h: $(diff <(echo "$c_decl") <(echo "$c_exp") | tr '\n' ' ')"
n_cpp=0
while read -r sym; do
  name=$(c++filt <<<"$sym")
  [[ "$name" == wgcore::* ]] || fail "exported symbol outside the API: $name"
  word=${name#wgcore::}
  word=${word%%[(:<\[]*}
  grep -qw -- "$word" "$ROOT"/libwgcore/include/wgcore/*.hpp || fail "exported symbol not in a public header: $name"
  ((++n_cpp))
done < <(grep -vE '^wgcore_' "$WGC_TEST_DIR/exports.txt")
man3=$(find "$STAGE" -name libwgcore.3 -path '*/man3/*' | head -n 1)
[[ -n "$man3" ]] || fail "libwgcore(3) not installed"
for f in $c_decl; do grepq -w -- "$f" <"$man3" || fail "libwgcore(3) does not document $f"; done
pass "libwgcore.so.0: SONAME set, exports the $(wc -w <<<"$c_exp") functions of wgcore.h and $n_cpp of the C++ headers, nothing else"

# --- every installed header stands on its own: the integrations build on these alone ----------
n_hdr=0
for h in $(find "$STAGE" -path '*/include/wgcore/*.hpp' | sort); do
  echo "#include <wgcore/$(basename "$h")>" | c++ -std=c++20 -Wall -Wextra -Werror -fsyntax-only \
    $(pkg-config --cflags wgcore) -x c++ - 2>"$WGC_TEST_DIR/hdr.log" ||
    { cat "$WGC_TEST_DIR/hdr.log"; fail "installed header wgcore/$(basename "$h") does not compile on its own"; }
  ((++n_hdr))
done
for h in "$ROOT"/libwgcore/include/wgcore/*.hpp; do
  [[ -n "$(find "$STAGE" -path "*/include/wgcore/$(basename "$h")")" ]] || fail "public header $(basename "$h") not installed"
done
pass "the ${n_hdr} installed C++ headers each compile alone with pkg-config wgcore's flags"

# --- the examples, built as docs/embedding.md says ----------------------------------------------
RUN="$WGC_TEST_DIR/run"
mkdir -p "$RUN"
cp "$ROOT/examples/two_peers.c" "$ROOT/examples/ping_peer.cpp" "$RUN/"
python3 "$ROOT/tests/lib/md_blocks.py" "$ROOT/docs/embedding.md" embed-build >"$RUN/build.sh" || fail "no embed-build block in docs/embedding.md"
(cd "$RUN" && bash -e build.sh) >"$WGC_TEST_DIR/build.log" 2>&1 || { cat "$WGC_TEST_DIR/build.log"; fail "the guide's build commands failed"; }
[[ -x "$RUN/two_peers" && -x "$RUN/ping_peer" ]] || fail "the examples were not built"
ldd "$RUN/ping_peer" | grepq 'libwgcore\.so\.0' || fail "ping_peer does not link libwgcore.so.0"
# Readable for uid 65534, which runs them.
cp "$so" "$RUN/" && chmod -R a+rX "$RUN" && chmod a+x "$WGC_TEST_DIR"
pass "examples built out of tree with pkg-config wgcore only ($(head -c 200 <"$RUN/build.sh" | tr '\n' ';'))"

NS="$(ns_create e)"
out=$(ip netns exec "$NS" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
  env LD_LIBRARY_PATH="$RUN" "$RUN/two_peers" 2>&1) || fail "two_peers as uid 65534: $out"
grepq 'B received a 32-byte packet: "hello from A"' <<<"$out" || fail "two_peers: $out"
grepq 'A: handshake-completed' <<<"$out" || fail "two_peers printed no handshake event: $out"
pass "two_peers as uid 65534: two embedded peers exchanged a packet after a handshake"

# --- an embedded peer against wgcored and wireguard-go ------------------------------------------
(umask 077 && wg genkey >"$RUN/embedded.key")
chown 65534:65534 "$RUN/embedded.key"
EMB_PUB=$(wg pubkey <"$RUN/embedded.key")
against() { # against IMPL PATH LABEL: IMPL serves 10.77.0.1 in a namespace; ping it from uid 65534
  local impl="$1" bin="$2" label="$3" ns iface out
  ns="$(ns_create "$label")"
  iface="${label:0:2}${WGC_NS_SUFFIX}"
  iface="${iface:0:15}"
  (umask 077 && wg genkey >"$WGC_TEST_DIR/$impl.key")
  ns_spawn "$ns" "$impl" env WG_PROCESS_FOREGROUND=1 "$bin" -f "$iface"
  wait_for 10 test -S "/var/run/wireguard/$iface.sock" || fail "$impl did not create its UAPI socket"
  ns_exec "$ns" wg set "$iface" private-key "$WGC_TEST_DIR/$impl.key" listen-port 51820 \
    peer "$EMB_PUB" allowed-ips 10.77.0.2/32 || fail "wg set on $impl"
  ns_exec "$ns" ip addr add 10.77.0.1/24 dev "$iface" || fail "address on $iface"
  ns_exec "$ns" ip link set "$iface" up || fail "link up $iface"
  out=$(ip netns exec "$ns" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
    env LD_LIBRARY_PATH="$RUN" "$RUN/ping_peer" "$RUN/embedded.key" "$(wg pubkey <"$WGC_TEST_DIR/$impl.key")" \
    127.0.0.1:51820 10.77.0.2 10.77.0.1 3 2>&1) || fail "ping_peer against $impl: $out"
  [[ $(grep -c '^reply [123] from 10.77.0.1' <<<"$out") == 3 ]] || fail "ping_peer against $impl: $out"
  ns_exec "$ns" wg show "$iface" latest-handshakes | grepq "$EMB_PUB	[1-9]" || fail "$impl shows no handshake with the embedded peer"
  pass "ping_peer as uid 65534 against $impl: handshake, 3 echo replies ($(grep -m1 '^reply' <<<"$out"))"
}
against wgcored "$WGCORED" wgcored
against wireguard-go "$(command -v wireguard-go)" goref

# --- the guide's Interface block, run as root: an interface stock `wg` sees, gone with its owner --
python3 "$ROOT/tests/lib/md_blocks.py" "$ROOT/docs/embedding.md" embed-interface >"$RUN/interface.cpp" ||
  fail "no embed-interface block in docs/embedding.md"
cat >>"$RUN/interface.cpp" <<'CPP'
#include <cstdlib>
#include <unistd.h>
int main(int argc, char** argv) {
  if (argc != 3) return 2;
  wgcore::DeviceUpdate u;
  u.private_key = wgcore::key_from_base64(argv[2]).value();
  u.listen_port = 51830;
  auto wg = bring_up(argv[1], u);
  if (!wg) return 1;
  std::printf("up on %s\n", wgcore::backend_choice_name(wg->backend().backend));
  std::fflush(stdout);
  char c;  // stays up until its stdin ends
  while (::read(0, &c, 1) > 0) {
  }
  return 0;
}
CPP
(cd "$RUN" && c++ -std=c++20 -Wall -Werror interface.cpp $(pkg-config --cflags --libs wgcore) -o interface) \
  >"$WGC_TEST_DIR/iface-build.log" 2>&1 || { cat "$WGC_TEST_DIR/iface-build.log"; fail "the guide's Interface block does not build"; }
NSI="$(ns_create i)"
IFI="gi${WGC_NS_SUFFIX}"
IFI="${IFI:0:15}"
IKEY=$(wg genkey)
exec {hold}> >(ip netns exec "$NSI" env LD_LIBRARY_PATH="$RUN" "$RUN/interface" "$IFI" "$IKEY" >"$WGC_TEST_DIR/iface.out" 2>&1)
wait_for 10 grep -q '^up on' "$WGC_TEST_DIR/iface.out" || fail "the guide's bring_up failed: $(cat "$WGC_TEST_DIR/iface.out")"
ns_exec "$NSI" ip link show dev "$IFI" >/dev/null || fail "no link $IFI after bring_up"
[[ "$(ns_exec "$NSI" wg show "$IFI" public-key)" == "$(wg pubkey <<<"$IKEY")" ]] || fail "stock wg does not see the key bring_up applied"
[[ "$(ns_exec "$NSI" wg show "$IFI" listen-port)" == 51830 ]] || fail "stock wg shows another listen port"
exec {hold}>&-
wait_for 10 not ip netns exec "$NSI" ip link show dev "$IFI" || fail "$IFI outlived its Interface"
wait_for 10 not test -e "/var/run/wireguard/$IFI.sock" || fail "the UAPI socket of $IFI outlived its Interface"
pass "the guide's Interface block: $(head -n1 "$WGC_TEST_DIR/iface.out"), stock wg reads its key and port, and the link and socket go with it"
