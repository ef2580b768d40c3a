// Policy routing rules over rtnetlink (RTM_NEWRULE/DELRULE/GETRULE); see rule.hpp.
#include "routing/rule.hpp"

#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include <cstdio>

#include "nl_addr.hpp"
#include "nl_request.hpp"

namespace wgcore::routing {

namespace {

std::string table_name(std::uint32_t t) {
  switch (t) {
    case RT_TABLE_MAIN: return "main";
    case RT_TABLE_LOCAL: return "local";
    case RT_TABLE_DEFAULT: return "default";
    default: return std::to_string(t);
  }
}

std::string hex(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

bool put_prefix(nl_msg* msg, int type, const IpPrefix& p) {
  return nla_put(msg, type, int(p.addr.byte_len()), p.addr.bytes.data()) == 0;
}

nl_msg* build(const Rule& rule, bool add) {
  fib_rule_hdr frh{};
  frh.family = std::uint8_t(detail::af_of(rule.family));
  frh.action = add ? rule.action : std::uint8_t(FR_ACT_UNSPEC);
  frh.flags = rule.invert ? FIB_RULE_INVERT : 0;
  frh.table = rule.table < 256 ? std::uint8_t(rule.table) : std::uint8_t(RT_TABLE_UNSPEC);
  if (rule.from) frh.src_len = rule.from->len;
  if (rule.to) frh.dst_len = rule.to->len;
  nl_msg* msg = detail::new_request(add ? RTM_NEWRULE : RTM_DELRULE,
                                     add ? NLM_F_CREATE | NLM_F_EXCL : 0, frh);
  if (msg == nullptr) return nullptr;
  bool ok = true;
  if (rule.table != 0) ok = nla_put_u32(msg, FRA_TABLE, rule.table) == 0;
  if (ok && rule.priority) ok = nla_put_u32(msg, FRA_PRIORITY, *rule.priority) == 0;
  if (ok && rule.fwmark) ok = nla_put_u32(msg, FRA_FWMARK, *rule.fwmark) == 0;
  if (ok && rule.fwmask) ok = nla_put_u32(msg, FRA_FWMASK, *rule.fwmask) == 0;
  if (ok && rule.suppress_prefixlength)
    ok = nla_put_u32(msg, FRA_SUPPRESS_PREFIXLEN, *rule.suppress_prefixlength) == 0;
  if (ok && rule.protocol) ok = nla_put_u8(msg, FRA_PROTOCOL, *rule.protocol) == 0;
  if (ok && rule.from) ok = put_prefix(msg, FRA_SRC, *rule.from);
  if (ok && rule.to) ok = put_prefix(msg, FRA_DST, *rule.to);
  if (!ok) {
    nlmsg_free(msg);
    return nullptr;
  }
  return msg;
}

std::optional<IpPrefix> read_prefix(nlattr* a, int family, unsigned len) {
  if (a == nullptr) return std::nullopt;
  IpPrefix p;
  const auto* d = static_cast<const std::uint8_t*>(nla_data(a));
  if (family == AF_INET && nla_len(a) == 4) p.addr = IpAddr::v4_bytes(d);
  else if (family == AF_INET6 && nla_len(a) == 16) p.addr = IpAddr::v6_bytes(d);
  else return std::nullopt;
  p.len = std::uint8_t(len);
  return p;
}

}  // namespace

std::string Rule::to_string() const {
  std::string s;
  if (priority) s = std::to_string(*priority) + ": ";
  if (invert) s += "not ";
  s += "from " + (from ? from->to_string() : std::string("all"));
  if (to) s += " to " + to->to_string();
  if (fwmark) {
    s += " fwmark " + hex(*fwmark);
    if (fwmask && *fwmask != 0xffffffffu) s += "/" + hex(*fwmask);
  }
  if (action == FR_ACT_TO_TBL) s += " lookup " + table_name(table);
  else if (action == FR_ACT_BLACKHOLE) s += " blackhole";
  else if (action == FR_ACT_UNREACHABLE) s += " unreachable";
  else if (action == FR_ACT_PROHIBIT) s += " prohibit";
  else s += " action " + std::to_string(action);
  if (suppress_prefixlength) s += " suppress_prefixlength " + std::to_string(*suppress_prefixlength);
  if (protocol) s += " proto " + std::to_string(*protocol);
  return s;
}

Status add_rule(Netlink& nl, const Rule& rule) {
  std::string what = "adding IPv" + std::to_string(int(rule.family)) + " rule " + rule.to_string();
  return nl.transact(build(rule, true), what);
}

Status delete_rule(Netlink& nl, const Rule& rule) {
  std::string what = "deleting IPv" + std::to_string(int(rule.family)) + " rule " + rule.to_string();
  return nl.transact(build(rule, false), what);
}

Result<std::vector<Rule>> list_rules(Netlink& nl, IpAddr::Family family) {
  std::string what = "listing IPv" + std::to_string(int(family)) + " rules";
  fib_rule_hdr req{};
  req.family = std::uint8_t(detail::af_of(family));
  nl_msg* msg = detail::new_request(RTM_GETRULE, NLM_F_DUMP, req);
  std::vector<Rule> out;
  Status st = nl.transact(msg, what, [&](nlmsghdr* hdr) {
    if (hdr->nlmsg_type != RTM_NEWRULE) return;
    auto* frh = static_cast<fib_rule_hdr*>(nlmsg_data(hdr));
    if (frh->family != req.family) return;
    nlattr* tb[FRA_MAX + 1] = {};
    if (nlmsg_parse(hdr, sizeof(fib_rule_hdr), tb, FRA_MAX, nullptr) < 0) return;
    Rule r;
    r.family = family;
    r.invert = (frh->flags & FIB_RULE_INVERT) != 0;
    r.action = frh->action;
    r.table = tb[FRA_TABLE] ? nla_get_u32(tb[FRA_TABLE]) : frh->table;
    if (tb[FRA_PRIORITY]) r.priority = nla_get_u32(tb[FRA_PRIORITY]);
    else r.priority = 0;  // the kernel leaves out priority 0 (the local-table rule)
    if (tb[FRA_FWMARK]) r.fwmark = nla_get_u32(tb[FRA_FWMARK]);
    if (tb[FRA_FWMASK]) r.fwmask = nla_get_u32(tb[FRA_FWMASK]);
    // The kernel sends -1 (as u32) for "no suppress_prefixlength".
    if (tb[FRA_SUPPRESS_PREFIXLEN] && nla_get_u32(tb[FRA_SUPPRESS_PREFIXLEN]) != 0xffffffffu)
      r.suppress_prefixlength = nla_get_u32(tb[FRA_SUPPRESS_PREFIXLEN]);
    if (tb[FRA_PROTOCOL] && nla_get_u8(tb[FRA_PROTOCOL]) != RTPROT_UNSPEC)
      r.protocol = nla_get_u8(tb[FRA_PROTOCOL]);
    r.from = read_prefix(tb[FRA_SRC], frh->family, frh->src_len);
    r.to = read_prefix(tb[FRA_DST], frh->family, frh->dst_len);
    out.push_back(std::move(r));
  });
  if (!st) return st.error();
  return out;
}

}  // namespace wgcore::routing
