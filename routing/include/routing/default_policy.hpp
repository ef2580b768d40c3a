// A full tunnel's default route without a loop, the way wg-quick(8) does it and NetworkManager's
// own WireGuard (ip4-auto-default-route) too: the device marks its UDP with fwmark T, the
// default route sits in table T, `not fwmark T lookup T` sends everything unmarked there, and
// `lookup main suppress_prefixlength 0` (added after it, so above it) keeps every non-default
// route of the main table. One implementation for `wgcore up` and the NetworkManager service.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "routing/netlink.hpp"
#include "routing/rule.hpp"
#include "wgcore/ip.hpp"

namespace wgcore::routing {

inline constexpr std::uint32_t kWgQuickFirstTable = 51820;

// Each step as `ip` would print it ("ip -4 rule add not fwmark 51820 table 51820"), for the
// "[#] ..." lines wg-quick shows.
using StepLog = std::function<void(const std::string&)>;

// The first table from 51820 that holds no route and that no rule names (as its table or its
// fwmark). wg-quick looks at routes only; a table another tunnel's rules still use is not free
// either.
std::uint32_t free_policy_table(Netlink& nl);

struct PolicyRuleOptions {
  // Give each rule the priority the kernel would pick (next_rule_priority) and keep it, so that
  // exactly that rule can be removed later: two full tunnels (two NetworkManager connections)
  // then come and go in any order. wg-quick leaves the priority to the kernel.
  bool explicit_priorities = false;
  // Told about each rule just before it is added, and again if adding it failed (a crash guard
  // that must know a rule before it exists).
  std::function<void(const Rule&)> before_add;
  std::function<void(const Rule&)> add_failed;
};

// For one family: `ip route add default dev IFACE table T`, the two rules, and for IPv4
// net.ipv4.conf.all.src_valid_mark=1 (replies to marked packets pass reverse-path filtering).
// Each rule added is appended to `added`, also when a later step fails.
Status add_default_policy(Netlink& nl, const std::string& iface, IpAddr::Family family, std::uint32_t table,
                          const PolicyRuleOptions& options, std::vector<Rule>& added, const StepLog& log = {});

// The priority the kernel would give a rule added without one (`ip rule add`): one below the
// lowest non-zero priority in use, 32765 when only the default rules exist.
std::uint32_t next_rule_priority(const std::vector<Rule>& existing);

}  // namespace wgcore::routing
