// The Control API: one way to read and change any WireGuard interface, whatever serves it
// (the in-process userspace device, the kernel module over netlink, or a userspace daemon
// behind a UAPI socket).
#pragma once

#include <memory>
#include <string>

#include "wgcore/config.hpp"
#include "wgcore/result.hpp"

namespace wgcore {

class Control {
 public:
  virtual ~Control() = default;
  // Reads the whole device: keys, port, fwmark, peers with their allowed IPs and statistics.
  virtual Result<DeviceState> get() = 0;
  // Applies the change atomically: on error nothing is changed.
  virtual Status apply(const DeviceUpdate& update) = 0;
  // Which backend serves this interface ("userspace", "kernel", "uapi:/var/run/wireguard/x.sock").
  virtual std::string backend() const = 0;
};

}  // namespace wgcore
