// Fuzz target: .netdev text as wgcore-networkd reads it (files any package or admin drops into
// /etc/systemd/network). The first byte splits the input into a main file and a drop-in. The
// reader must never crash; every diagnostic must name where it comes from (a file, or the
// interface with a file); verification must keep only peers with a public key; the plans for
// an accepted netdev must be consistent (a diff against itself is empty; routes only for
// configured tables).
#include <string>

#include "fuzz_common.hpp"
#include "netdev.hpp"
#include "plan.hpp"

using namespace wgcore;
using namespace wgcore::networkd;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view all = fuzz::as_text(data + 1, size - 1);
  std::size_t split = all.empty() ? 0 : data[0] % (all.size() + 1);
  std::vector<SourceText> sources{{"/etc/systemd/network/10-f.netdev", std::string(all.substr(0, split))},
                                  {"/etc/systemd/network/10-f.netdev.d/a.conf", std::string(all.substr(split))}};
  Diagnostics d;
  auto parsed = parse_netdev(sources, d);
  for (const auto& i : d.items()) {
    FUZZ_CHECK(!i.text.empty());
    FUZZ_CHECK(i.text.find("/etc/systemd/network/10-f.netdev") != std::string::npos ||
               i.text.find("NetDev without Name=") == 0);
  }
  if (!parsed || !parsed->wireguard) return 0;
  WireGuardNetdev w = *parsed->wireguard;
  FUZZ_CHECK(valid_ifname(w.name));
  for (const auto& p : w.peers)
    for (const auto& a : p.allowed_ips) FUZZ_CHECK(a == a.canonical());
  Diagnostics v;
  auto reader = [](const std::string&) -> Result<Key> { return make_error(ENOENT, "No such file or directory"); };
  if (!verify_wireguard(w, v, reader)) return 0;
  for (const auto& p : w.peers) FUZZ_CHECK(p.public_key && !p.public_key->is_zero());
  ResolvedEndpoints none;
  FUZZ_CHECK(update_is_empty(diff_update(w, none, w, none)));
  auto full = full_update(w, none);
  FUZZ_CHECK(full.replace_peers && full.peers.size() == w.peers.size());
  for (const auto& r : peer_routes(w)) FUZZ_CHECK(r.table != 0);
  return 0;
}
