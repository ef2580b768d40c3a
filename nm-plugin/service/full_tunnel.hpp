// A full tunnel's default route without a loop (routing/default_policy.hpp, shared with `wgcore
// up`), held for one NetworkManager connection: unlike wg-quick, each rule gets an explicit
// priority, is told to the crash guard, and is removed by exactly that priority, so two full
// tunnels (two NM connections) can come and go in any order.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "routing/netlink.hpp"
#include "routing/rule.hpp"
#include "rule_guard.hpp"
#include "wgcore/ip.hpp"

namespace wgcore::nm {

class FullTunnel {
 public:
  struct Request {
    std::string iface;
    bool v4 = false, v6 = false;          // which families route their default here
    std::uint32_t fwmark = 0;             // the device's fwmark; 0: pick a free table
    std::function<Status(std::uint32_t)> set_fwmark;
  };
  // Adds routes and rules; on error removes what it added. Every rule is told to `guard`.
  static Result<FullTunnel> add(routing::Netlink& nl, const Request& req, RuleGuard& guard);

  // Removes the rules (the routes in table T go with the device). Idempotent.
  Status remove(routing::Netlink& nl, RuleGuard& guard);

  std::uint32_t table() const { return table_; }
  const std::vector<routing::Rule>& rules() const { return rules_; }

 private:
  std::uint32_t table_ = 0;
  std::vector<routing::Rule> rules_;
};

}  // namespace wgcore::nm
