// `frr-wgd show ...`: peers, imported, pending, refused (with the rule and its detail), exported,
// counters, policy, frr-config; each as text or, with a trailing `json`, as one JSON document.
#include <cstdio>

#include "support/json.hpp"
#include "daemon.hpp"
#include "frr_snippet.hpp"

namespace wgcore::frrwgd {

namespace policy = routing::policy;

namespace {

// bgpd dropped the route on our hold list: the peer may have withdrawn it since.
bool held(const Site& s, const Key& peer, const IpPrefix& prefix) { return s.held.count({peer, prefix}) > 0; }
std::string held_note(const Site& s, const Key& peer, const IpPrefix& prefix) {
  return held(s, peer, prefix) ? " (held back in FRR)" : "";
}


std::string pad(std::string s, std::size_t n) {
  if (s.size() < n) s.append(n - s.size(), ' ');
  return s + " ";
}

}  // namespace

const PeerConfig* Daemon::peer_config(const Site& s, const Key& k) const { return s.cfg.find_peer(k); }

Reply Daemon::show(const std::vector<std::string>& args) {
  if (args.size() < 2)
    return {2, "usage: frr-wgd show peers|imported|pending|refused|exported|counters|policy [json]\n"
               "       frr-wgd show frr-config [zebra|bgpd]\n"};
  if (args[1] == "frr-config") {
    if (args.size() > 3) return {2, "unexpected argument '" + args[3] + "'\n"};
    auto part = args.size() == 3 ? parse_snippet_part(args[2]) : std::optional<SnippetPart>(SnippetPart::kAll);
    if (!part) return {2, "show frr-config: expected zebra or bgpd, got '" + args[2] + "'\n"};
    return {0, frr_config_snippet(cfg_, *part)};
  }
  bool json = args.size() >= 3 && args.back() == "json";
  if (args.size() > 3 || (args.size() == 3 && !json)) return {2, "unexpected argument '" + args[2] + "'\n"};
  const std::string& what = args[1];
  if (what == "peers") return {0, show_peers(json)};
  if (what == "imported") return {0, show_imported(json, false)};
  if (what == "pending") return {0, show_imported(json, true)};
  if (what == "refused") return {0, show_refused(json)};
  if (what == "exported") return {0, show_exported(json)};
  if (what == "counters") return {0, show_counters(json)};
  if (what == "policy") return {0, show_policy(json)};
  return {2, "unknown show command '" + what + "'\n"};
}

std::string Daemon::show_peers(bool json) {
  JsonWriter j;
  std::string t;
  j.begin_array();
  for (const auto& s : sites_) {
    for (const auto& p : s->cfg.peers) {
      auto c = s->engine.counters(p.public_key);
      auto st = s->facts.static_allowed_ips.find(p.public_key);
      std::vector<IpPrefix> statics;
      if (st != s->facts.static_allowed_ips.end()) statics = st->second;
      std::vector<IpPrefix> imported;
      if (auto o = s->allowed.ours.find(p.public_key); o != s->allowed.ours.end())
        imported.assign(o->second.begin(), o->second.end());
      if (json) {
        j.begin_object().key("interface").value(s->cfg.name).key("name").value(p.name)
            .key("public_key").value(to_base64(p.public_key));
        j.key("tunnel_addresses").begin_array();
        for (const auto& a : p.tunnel_addresses) j.value(a.to_string());
        j.end_array().key("endpoints").begin_array();
        if (auto e = s->facts.peer_endpoints.find(p.public_key); e != s->facts.peer_endpoints.end())
          for (const auto& a : e->second) j.value(a.to_string());
        j.end_array().key("static_allowed_ips").begin_array();
        for (const auto& a : statics) j.value(a.to_string());
        j.end_array().key("imported_allowed_ips").begin_array();
        for (const auto& a : imported) j.value(a.to_string());
        j.end_array();
        j.key("prefix_list_ipv4").value(p.prefix_list_v4).key("prefix_list_ipv6").value(p.prefix_list_v6)
            .key("max_prefixes").value(std::uint64_t(p.max_prefixes))
            .key("warn_prefixes").value(std::uint64_t(p.warn_prefixes))
            .key("allow_default").value(p.allow_default).key("approval").value(p.approval)
            .key("accepted").value(c.accepted).key("pending").value(c.pending)
            .key("refused").value(c.refused).key("offered").value(c.offered);
        j.end_object();
      } else {
        t += s->cfg.name + " peer " + p.name + " " + to_base64(p.public_key) + "\n";
        std::string addrs;
        for (const auto& a : p.tunnel_addresses) addrs += " " + a.to_string();
        t += "  tunnel-address:" + addrs + "\n  static:";
        for (const auto& a : statics) t += " " + a.to_string();
        t += "\n  imported:";
        for (const auto& a : imported) t += " " + a.to_string();
        t += "\n  accepted " + std::to_string(c.accepted) + ", pending " + std::to_string(c.pending) +
             ", refused " + std::to_string(c.refused) + ", max-prefixes " +
             (p.max_prefixes ? std::to_string(p.max_prefixes) : std::string("none")) + "\n";
      }
    }
  }
  j.end_array();
  return json ? j.str() + "\n" : t;
}

std::string Daemon::show_imported(bool json, bool pending) {
  JsonWriter j;
  std::string t;
  j.begin_array();
  const auto want = pending ? policy::Verdict::kPending : policy::Verdict::kAccept;
  for (const auto& s : sites_)
    for (const auto& p : s->cfg.peers)
      for (const auto& e : s->engine.entries(p.public_key)) {
        if (e.decision.verdict != want) continue;
        if (json) {
          j.begin_object().key("interface").value(s->cfg.name).key("peer").value(p.name)
              .key("public_key").value(to_base64(p.public_key)).key("prefix").value(e.prefix.to_string())
              .key("rule").value(policy::rule_name(e.decision.rule)).key("detail").value(e.decision.detail)
              .key("installed").value(e.installed);
          if (pending) j.key("held_in_frr").value(held(*s, p.public_key, e.prefix));
          j.end_object();
        } else {
          t += pad(s->cfg.name, 8) + pad(p.name, 12) + pad(e.prefix.to_string(), 20) +
               std::string(policy::rule_name(e.decision.rule)) + ": " + e.decision.detail +
               (e.installed || pending ? "" : " (already static)") + held_note(*s, p.public_key, e.prefix) + "\n";
        }
      }
  j.end_array();
  return json ? j.str() + "\n" : t;
}

std::string Daemon::show_refused(bool json) {
  JsonWriter j;
  std::string t;
  j.begin_array();
  for (const auto& s : sites_)
    for (const auto& p : s->cfg.peers)
      for (const auto& e : s->engine.entries(p.public_key)) {
        if (e.decision.verdict != policy::Verdict::kRefuse) continue;
        if (json) {
          j.begin_object().key("interface").value(s->cfg.name).key("peer").value(p.name)
              .key("public_key").value(to_base64(p.public_key)).key("prefix").value(e.prefix.to_string())
              .key("rule").value(policy::rule_name(e.decision.rule)).key("detail").value(e.decision.detail)
              .key("reason").value(e.decision.to_string(e.prefix, p.name))
              .key("held_in_frr").value(held(*s, p.public_key, e.prefix)).end_object();
        } else {
          t += pad(s->cfg.name, 8) + pad(p.name, 12) + pad(e.prefix.to_string(), 20) +
               std::string(policy::rule_name(e.decision.rule)) + ": " + e.decision.detail +
               held_note(*s, p.public_key, e.prefix) + "\n";
        }
      }
  // Routes into the tunnel no peer could take: refused before any peer's policy (no peer).
  for (const auto& s : sites_)
    for (const auto& [prefix, why] : s->importer.unresolved()) {
      if (json)
        j.begin_object().key("interface").value(s->cfg.name).key("peer").value("").key("public_key").value("")
            .key("prefix").value(prefix.to_string()).key("rule").value("unusable-nexthop").key("detail").value(why)
            .key("reason").value("refuse " + prefix.to_string() + ": " + why).end_object();
      else
        t += pad(s->cfg.name, 8) + pad("-", 12) + pad(prefix.to_string(), 20) + "unusable-nexthop: " + why + "\n";
    }
  j.end_array();
  return json ? j.str() + "\n" : t;
}

std::string Daemon::show_exported(bool json) {
  JsonWriter j;
  std::string t;
  j.begin_array();
  for (const auto& s : sites_)
    for (const auto& r : s->exported) {
      if (json) {
        j.begin_object().key("interface").value(s->cfg.name).key("prefix").value(r.dst.to_string())
            .key("table").value(std::uint64_t(r.table)).key("protocol").value(unsigned(r.protocol)).end_object();
      } else {
        t += pad(s->cfg.name, 8) + r.to_string() + "\n";
      }
    }
  j.end_array();
  return json ? j.str() + "\n" : t;
}

std::string Daemon::show_counters(bool json) {
  const Counters& c = counters_;
  const std::pair<const char*, std::uint64_t> daemon[] = {
      {"fpm_connects", c.fpm_connects},     {"fpm_disconnects", c.fpm_disconnects},
      {"route_updates", c.route_updates},   {"feed_errors", c.feed_errors},
      {"sweeps", c.sweeps},                 {"swept_routes", c.swept_routes},
      {"device_updates", c.device_updates}, {"device_errors", c.device_errors},
      {"export_errors", c.export_errors},   {"reloads", c.reloads},
      {"reload_errors", c.reload_errors},   {"frr_syncs", c.frr_syncs},
      {"frr_sync_errors", c.frr_sync_errors}};
  JsonWriter j;
  std::string t;
  j.begin_object().key("fpm_connected").value(fpm_ && fpm_->connected());
  t += std::string("fpm connected: ") + (fpm_ && fpm_->connected() ? "yes" : "no") + "\n";
  std::uint64_t unresolved = 0;
  for (const auto& s : sites_) unresolved += s->importer.unresolved().size();
  j.key("unusable_nexthop_routes").value(unresolved);
  t += "unusable_nexthop_routes: " + std::to_string(unresolved) + "\n";
  for (const auto& [k, v] : daemon) {
    j.key(k).value(v);
    t += std::string(k) + ": " + std::to_string(v) + "\n";
  }
  j.key("peers").begin_array();
  for (const auto& s : sites_)
    for (const auto& p : s->cfg.peers) {
      auto pc = s->engine.counters(p.public_key);
      j.begin_object().key("interface").value(s->cfg.name).key("peer").value(p.name)
          .key("offered").value(pc.offered).key("accepted").value(pc.accepted)
          .key("pending").value(pc.pending).key("refused").value(pc.refused);
      j.key("refused_by_rule").begin_object();
      t += s->cfg.name + " peer " + p.name + ": offered " + std::to_string(pc.offered) + ", accepted " +
           std::to_string(pc.accepted) + ", pending " + std::to_string(pc.pending) + ", refused " +
           std::to_string(pc.refused);
      for (const auto& [rule, n] : pc.refused_by_rule) {
        j.key(policy::rule_name(rule)).value(n);
        t += " " + std::string(policy::rule_name(rule)) + "=" + std::to_string(n);
      }
      t += "\n";
      j.end_object().end_object();
    }
  j.end_array().end_object();
  return json ? j.str() + "\n" : t;
}

std::string Daemon::show_policy(bool json) {
  JsonWriter j;
  std::string t;
  j.begin_object().key("prefix_lists").begin_array();
  for (const auto& l : cfg_.prefix_lists) {
    j.begin_object().key("name").value(l.name).key("family").value(l.family == IpAddr::Family::V4 ? "ipv4" : "ipv6");
    j.key("entries").begin_array();
    for (const auto& e : l.entries) {
      j.value(e.to_string());
      t += prefix_list_line(l, e) + "\n";
    }
    j.end_array().end_object();
  }
  j.end_array().key("peers").begin_array();
  for (const auto& s : sites_)
    for (const auto& p : s->cfg.peers) {
      j.begin_object().key("interface").value(s->cfg.name).key("peer").value(p.name)
          .key("prefix_list_ipv4").value(p.prefix_list_v4).key("prefix_list_ipv6").value(p.prefix_list_v6)
          .key("max_prefixes").value(std::uint64_t(p.max_prefixes))
          .key("warn_prefixes").value(std::uint64_t(p.warn_prefixes))
          .key("allow_default").value(p.allow_default).key("approval").value(p.approval).end_object();
      t += s->cfg.name + " peer " + p.name + ": ipv4 " + (p.prefix_list_v4.empty() ? "-" : p.prefix_list_v4) +
           ", ipv6 " + (p.prefix_list_v6.empty() ? "-" : p.prefix_list_v6) + ", max-prefixes " +
           std::to_string(p.max_prefixes) + (p.allow_default ? ", allow-default" : "") +
           (p.approval ? ", approval" : "") + "\n";
    }
  j.end_array().end_object();
  return json ? j.str() + "\n" : t;
}

}  // namespace wgcore::frrwgd
