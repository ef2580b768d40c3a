// The Control implementation for a kernel WireGuard interface: get = one GET_DEVICE dump, apply =
// validate against the current state, then the SET_DEVICE messages in order, rolling back on
// a kernel error.
#pragma once

#include <optional>
#include <string>

#include "netlink/nl_socket.hpp"
#include "netlink/wg_genl.hpp"
#include "wgcore/control.hpp"

namespace wgcore::netlink {

class KernelControl : public Control {
 public:
  static Result<std::unique_ptr<KernelControl>> open(const std::string& ifname);

  Result<DeviceState> get() override;
  Status apply(const DeviceUpdate& update) override;
  std::string backend() const override { return "kernel"; }

  // What the kernel's wireguard family supports (probed once, on first use).
  const KernelCaps& caps();
  // For tests: the message size limit used when splitting sets.
  void set_message_limit(std::size_t limit) { limit_ = limit; }
  // For tests: pretend the kernel lacks (or has) per-allowed-IP removal.
  void override_caps(const KernelCaps& caps) { caps_ = caps; }

 private:
  KernelControl(std::string ifname, NlSocket sock, std::uint16_t family)
      : ifname_(std::move(ifname)), sock_(std::move(sock)), family_(family) {}
  Status send_plan(const SetPlan& plan, std::size_t* sent, std::size_t* total);

  std::string ifname_;
  NlSocket sock_;
  std::uint16_t family_;
  std::size_t limit_ = kDefaultMessageLimit;
  std::optional<KernelCaps> caps_;
};

}  // namespace wgcore::netlink
