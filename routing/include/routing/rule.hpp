// Policy routing rules (`ip rule`): add, delete, list. libnl's rtnl_rule knows neither `not`
// (FIB_RULE_INVERT) nor suppress_prefixlength, which wg-quick's default-route setup needs, so
// rules are built and parsed here on libnl's message layer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "routing/netlink.hpp"
#include "wgcore/ip.hpp"

namespace wgcore::routing {

struct Rule {
  IpAddr::Family family = IpAddr::Family::V4;
  std::optional<std::uint32_t> priority;    // unset on add: the kernel picks (as `ip rule add`)
  bool invert = false;                      // `not`
  std::optional<IpPrefix> from;             // unset: from all
  std::optional<IpPrefix> to;
  std::optional<std::uint32_t> fwmark;
  std::optional<std::uint32_t> fwmask;      // unset with a fwmark: the kernel uses 0xffffffff
  std::uint32_t table = 0;                  // 0: none (only for delete: any table)
  std::optional<std::uint32_t> suppress_prefixlength;
  std::optional<std::uint8_t> protocol;     // FRA_PROTOCOL; unset on add: none sent
  std::uint8_t action = 1;                  // FR_ACT_TO_TBL ("lookup")

  // In `ip rule` words: "32765: not from all fwmark 0xca6c lookup 51820" (no "N: " when the
  // priority is unset; main/local/default tables by name).
  std::string to_string() const;
};

Status add_rule(Netlink& nl, const Rule& rule);
// Deletes the first rule matching every field that is set (as `ip rule del` does: the kernel
// ignores table 0, unset marks, unset priority).
Status delete_rule(Netlink& nl, const Rule& rule);
Result<std::vector<Rule>> list_rules(Netlink& nl, IpAddr::Family family);

}  // namespace wgcore::routing
