// sd-bus calls to systemd-networkd (org.freedesktop.network1): find a link by name, ask
// networkd to reconfigure it (after we created it), and read its states for `status`.
#pragma once

#include <memory>
#include <string>

#include "wgcore/result.hpp"

struct sd_bus;

namespace wgcore::networkd {

struct LinkState {
  int ifindex = 0;
  std::string administrative;  // networkd's setup state: configured, configuring, unmanaged, ...
  std::string operational;     // routable, carrier, degraded, ...
  std::string carrier;
  std::string address;
  std::string online;
};

class NetworkdBus {
 public:
  // The system bus (DBUS_SYSTEM_BUS_ADDRESS honoured).
  static Result<std::unique_ptr<NetworkdBus>> open();
  ~NetworkdBus();

  Result<int> link_index(const std::string& ifname);
  Status reconfigure(const std::string& ifname);
  // Manager.Reload, what `networkctl reload` calls: networkd reads its files again.
  Status reload();
  Result<LinkState> link_state(const std::string& ifname);

 private:
  explicit NetworkdBus(sd_bus* b) : bus_(b) {}
  sd_bus* bus_;
};

}  // namespace wgcore::networkd
