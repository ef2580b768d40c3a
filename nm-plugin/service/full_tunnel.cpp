// fwmark policy routing for a full tunnel; see full_tunnel.hpp. The routes and rules themselves
// are routing/default_policy's, the same as `wgcore up`'s.
#include "full_tunnel.hpp"

#include "routing/default_policy.hpp"

namespace wgcore::nm {

Result<FullTunnel> FullTunnel::add(routing::Netlink& nl, const Request& req, RuleGuard& guard) {
  FullTunnel ft;
  std::uint32_t table = req.fwmark;
  if (table == 0) {
    table = routing::free_policy_table(nl);
    if (!req.set_fwmark) return make_error(EINVAL, "full tunnel on " + req.iface + ": cannot set the fwmark");
    if (Status st = req.set_fwmark(table); !st) return st.error();
  }
  ft.table_ = table;
  routing::PolicyRuleOptions opts;
  opts.explicit_priorities = true;
  // Told to the guard before it exists: a crash between the two steps leaves nothing. Without a
  // guard (it could not start; already logged) the rule still works, it would only outlive a crash.
  opts.before_add = [&](const routing::Rule& r) { (void)guard.watch_rule(r); };
  opts.add_failed = [&](const routing::Rule& r) { (void)guard.forget_rule(r); };
  for (auto fam : {IpAddr::Family::V4, IpAddr::Family::V6}) {
    if (fam == IpAddr::Family::V4 ? !req.v4 : !req.v6) continue;
    if (Status st = routing::add_default_policy(nl, req.iface, fam, table, opts, ft.rules_); !st) {
      (void)ft.remove(nl, guard);
      return st.error();
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
