// fwmark policy routing for a full tunnel; see full_tunnel.hpp.
#include "full_tunnel.hpp"

#include "routing/route.hpp"
#include "routing/sysctl.hpp"
#include "routing/wgquick_routes.hpp"

namespace wgcore::nm {

namespace {

bool table_in_use(routing::Netlink& nl, std::uint32_t table) {
  for (auto f : {IpAddr::Family::V4, IpAddr::Family::V6}) {
    auto rs = routing::list_routes(nl, f, table);
    if (rs && !rs->empty()) return true;
    auto rules = routing::list_rules(nl, f);
    if (rules)
      for (const auto& r : *rules)
        if (r.table == table || (r.fwmark && *r.fwmark == table)) return true;
  }
  return false;
}

}  // namespace

std::uint32_t next_rule_priority(const std::vector<routing::Rule>& existing) {
  std::uint32_t lowest = 0;
  for (const auto& r : existing)
    if (r.priority && *r.priority != 0 && (lowest == 0 || *r.priority < lowest)) lowest = *r.priority;
  if (lowest == 0) return 32765;  // what the kernel picks with only the default rules
  return lowest - 1;
}

Result<FullTunnel> FullTunnel::add(routing::Netlink& nl, const Request& req, RuleGuard& guard) {
  FullTunnel ft;
  std::uint32_t table = req.fwmark;
  if (table == 0) {
    table = routing::kWgQuickFirstTable;
    while (table_in_use(nl, table)) ++table;
    if (!req.set_fwmark) return make_error(EINVAL, "full tunnel on " + req.iface + ": cannot set the fwmark");
    if (Status st = req.set_fwmark(table); !st) return st.error();
  }
  ft.table_ = table;
  auto undo = [&](const Error& e) -> Result<FullTunnel> {
    (void)ft.remove(nl, guard);
    return e;
  };
  for (auto fam : {IpAddr::Family::V4, IpAddr::Family::V6}) {
    bool v4 = fam == IpAddr::Family::V4;
    if (v4 ? !req.v4 : !req.v6) continue;
    routing::Route def;
    def.dst.addr.family = fam;
    def.dst.len = 0;
    def.dev = req.iface;
    def.table = table;
    if (Status st = routing::add_route(nl, def); !st) return undo(st.error());
    // wg-quick's order: the `not fwmark` rule, then the suppress rule above it.
    routing::Rule mark;
    mark.family = fam;
    mark.invert = true;
    mark.fwmark = table;
    mark.table = table;
    routing::Rule suppress;
    suppress.family = fam;
    suppress.table = routing::kTableMain;
    suppress.suppress_prefixlength = 0;
    for (routing::Rule* r : {&mark, &suppress}) {
      auto existing = routing::list_rules(nl, fam);
      if (!existing) return undo(existing.error());
      r->priority = next_rule_priority(*existing);
      // Told to the guard before it exists: a crash between the two steps leaves nothing.
      // Without a guard (it could not start; already logged) the rule still works, it would
      // only outlive a crash.
      (void)guard.watch_rule(*r);
      if (Status st = routing::add_rule(nl, *r); !st) {
        (void)guard.forget_rule(*r);
        return undo(make_error(st.error().code, "ip rule add " + r->to_string() + ": " + st.error().message));
      }
      ft.rules_.push_back(*r);
    }
    if (v4) {
      // Replies to marked packets must pass reverse-path filtering (wg-quick does the same).
      if (Status st = routing::write_sysctl("net.ipv4.conf.all.src_valid_mark", "1"); !st)
        return undo(st.error());
    }
  }
  return ft;
}

Status FullTunnel::remove(routing::Netlink& nl, RuleGuard& guard) {
  Status first;
  // Newest first, so priorities free up in the order they were taken.
  for (auto it = rules_.rbegin(); it != rules_.rend(); ++it) {
    Status st = routing::delete_rule(nl, *it);
    if (!st && st.error().code != ENOENT && first) first = st;
    (void)guard.forget_rule(*it);
  }
  rules_.clear();
  return first;
}

}  // namespace wgcore::nm
