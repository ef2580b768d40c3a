// A full tunnel's default route without a loop, as wg-quick and NM's own WireGuard
// (ip4-auto-default-route) do it: the device marks its UDP with fwmark T, the default route sits
// in table T, `not fwmark T lookup T` sends everything unmarked there, and `lookup main
// suppress_prefixlength 0` (checked first) keeps every non-default route of the main table, so
// the encrypted packets to the endpoints leave through the underlay.
// Unlike wg-quick, each rule gets an explicit priority and is removed by exactly that priority,
// so two full tunnels (two NM connections) can come and go in any order.
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

// The priority the kernel would give a rule added without one (`ip rule add`): one below the
// lowest non-zero priority in use, 32765 when only the defaults exist. Exposed for the test.
std::uint32_t next_rule_priority(const std::vector<routing::Rule>& existing);

}  // namespace wgcore::nm
