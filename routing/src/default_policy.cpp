// fwmark policy routing for a full tunnel; see default_policy.hpp.
#include "routing/default_policy.hpp"

#include "routing/route.hpp"
#include "routing/sysctl.hpp"

namespace wgcore::routing {

namespace {

bool table_in_use(Netlink& nl, std::uint32_t table) {
  for (auto f : {IpAddr::Family::V4, IpAddr::Family::V6}) {
    auto rs = list_routes(nl, f, table);
    if (rs && !rs->empty()) return true;
    auto rules = list_rules(nl, f);
    if (rules)
      for (const auto& r : *rules)
        if (r.table == table || (r.fwmark && *r.fwmark == table)) return true;
  }
  return false;
}

}  // namespace

std::uint32_t free_policy_table(Netlink& nl) {
  std::uint32_t table = kWgQuickFirstTable;
  while (table_in_use(nl, table)) ++table;
  return table;
}

std::uint32_t next_rule_priority(const std::vector<Rule>& existing) {
  std::uint32_t lowest = 0;
  for (const auto& r : existing)
    if (r.priority && *r.priority != 0 && (lowest == 0 || *r.priority < lowest)) lowest = *r.priority;
  if (lowest == 0) return 32765;  // what the kernel picks with only the default rules
  return lowest - 1;
}

Status add_default_policy(Netlink& nl, const std::string& iface, IpAddr::Family family, std::uint32_t table,
                          const PolicyRuleOptions& options, std::vector<Rule>& added, const StepLog& log) {
  const bool v4 = family == IpAddr::Family::V4;
  const std::string ip = std::string("ip ") + (v4 ? "-4" : "-6");
  auto say = [&](const std::string& s) {
    if (log) log(s);
  };
  Route def;
  def.dst.addr.family = family;
  def.dst.len = 0;
  def.dev = iface;
  def.table = table;
  say(ip + " route add " + def.dst.to_string() + " dev " + iface + " table " + std::to_string(table));
  if (Status st = add_route(nl, def); !st) return st;
  // wg-quick's order: the `not fwmark` rule, then the suppress rule (above it).
  Rule mark;
  mark.family = family;
  mark.invert = true;
  mark.fwmark = table;
  mark.table = table;
  Rule suppress;
  suppress.family = family;
  suppress.table = kTableMain;
  suppress.suppress_prefixlength = 0;
  const std::string said[] = {ip + " rule add not fwmark " + std::to_string(table) + " table " + std::to_string(table),
                              ip + " rule add table main suppress_prefixlength 0"};
  int i = 0;
  for (Rule* r : {&mark, &suppress}) {
    if (options.explicit_priorities) {
      auto existing = list_rules(nl, family);
      if (!existing) return existing.error();
      r->priority = next_rule_priority(*existing);
    }
    say(said[i++]);
    if (options.before_add) options.before_add(*r);
    if (Status st = add_rule(nl, *r); !st) {
      if (options.add_failed) options.add_failed(*r);
      return make_error(st.error().code, "ip rule add " + r->to_string() + ": " + st.error().message);
    }
    added.push_back(*r);
  }
  if (v4) {
    say("sysctl -q net.ipv4.conf.all.src_valid_mark=1");
    if (Status st = write_sysctl("net.ipv4.conf.all.src_valid_mark", "1"); !st) return st;
  }
  return {};
}

}  // namespace wgcore::routing
