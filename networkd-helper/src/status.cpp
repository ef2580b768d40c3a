// `wgcore-networkd status` (see status.hpp).
#include "status.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "support/json.hpp"
#include "wgcore/backend.hpp"
#include "wgcore/interface.hpp"
#include "networkd_bus.hpp"

namespace wgcore::networkd {

int cmd_status(const SearchPath& sp, bool json, bool use_bus) {
  Diagnostics d;
  // Key files are the daemon's business (and may be unreadable to whoever asks for status):
  // list every netdev whatever its keys.
  auto any_key = [](const std::string&) -> Result<Key> {
    Key k;
    k[0] = 1;
    return k;
  };
  auto loaded = load_all(sp, current_environment(), d, any_key);
  std::unique_ptr<NetworkdBus> bus;
  std::string bus_error;
  if (use_bus) {
    auto b = NetworkdBus::open();
    if (b) bus = std::move(*b);
    else bus_error = b.error().message;
  }
  JsonWriter j;
  j.begin_array();
  int rc = 0;
  const std::int64_t now = std::time(nullptr);
  for (const auto& w : loaded.netdevs) {
    auto serving = serving_backend(w.name);
    std::optional<LinkState> ls;
    std::string ls_error = bus_error;
    if (bus) {
      auto r = bus->link_state(w.name);
      if (r) ls = *r;
      else ls_error = r.error().message;
    }
    std::size_t peers = 0;
    std::int64_t latest = 0;
    if (serving) {
      if (auto ctl = open_interface(w.name)) {
        if (auto st = (*ctl)->get()) {
          peers = st->peers.size();
          for (const auto& p : st->peers) latest = std::max(latest, p.last_handshake_time_sec);
        }
      }
    } else {
      rc = 3;  // like systemctl status: not running
    }
    if (json) {
      j.begin_object();
      j.key("name").value(w.name);
      j.key("file").value(w.file);
      j.key("description").value(w.description);
      j.key("backend").value(serving ? backend_choice_name(serving->backend) : "none");
      j.key("backend_reason").value(serving ? serving->reason : serving.error().message);
      j.key("networkd");
      if (ls) {
        j.begin_object();
        j.key("ifindex").value(ls->ifindex);
        j.key("administrative_state").value(ls->administrative);
        j.key("operational_state").value(ls->operational);
        j.key("carrier_state").value(ls->carrier);
        j.key("address_state").value(ls->address);
        j.key("online_state").value(ls->online);
        j.end_object();
      } else {
        j.begin_object().key("error").value(ls_error).end_object();
      }
      j.key("peers").value(std::uint64_t(peers));
      j.key("latest_handshake").value(latest);
      j.end_object();
      continue;
    }
    printf("%s%s%s (%s)\n", w.name.c_str(), w.description.empty() ? "" : ": ",
           w.description.c_str(), w.file.c_str());
    printf("  backend: %s\n", serving ? serving->reason.c_str() : ("not running: " + serving.error().message).c_str());
    if (ls)
      printf("  networkd: %s (operational: %s, carrier: %s, address: %s)\n", ls->administrative.c_str(),
             ls->operational.c_str(), ls->carrier.c_str(), ls->address.c_str());
    else
      printf("  networkd: unknown (%s)\n", ls_error.c_str());
    if (latest)
      printf("  peers: %zu, latest handshake: %lld seconds ago\n", peers, (long long)(now - latest));
    else
      printf("  peers: %zu, latest handshake: none\n", peers);
  }
  j.end_array();
  if (json) printf("%s\n", j.str().c_str());
  return rc;
}

}  // namespace wgcore::networkd
