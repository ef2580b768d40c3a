// Interface addresses over rtnetlink; see address.hpp.
#include "routing/address.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/route/addr.h>

#include "nl_addr.hpp"
#include "nl_request.hpp"

namespace wgcore::routing {

namespace {

Status modify(Netlink& nl, const std::string& dev, const IpPrefix& address, bool add) {
  std::string what = std::string(add ? "adding" : "deleting") + " address " +
                     address.to_string() + " dev " + dev;
  auto idx = detail::ifindex(dev);
  if (!idx) return errno_error(idx.error().code, what);
  std::unique_ptr<rtnl_addr, void (*)(rtnl_addr*)> a(rtnl_addr_alloc(), rtnl_addr_put);
  auto local = detail::to_nl_addr(address);
  if (!a || !local) return errno_error(ENOMEM, what);
  rtnl_addr_set_ifindex(a.get(), *idx);
  rtnl_addr_set_family(a.get(), detail::af_of(address.addr.family));
  int r = rtnl_addr_set_local(a.get(), local.get());
  if (r < 0) return nl_error(r, what);
  rtnl_addr_set_prefixlen(a.get(), address.len);
  nl_msg* msg = nullptr;
  r = add ? rtnl_addr_build_add_request(a.get(), NLM_F_CREATE | NLM_F_EXCL, &msg)
          : rtnl_addr_build_delete_request(a.get(), 0, &msg);
  if (r < 0) return nl_error(r, what);
  return nl.transact(msg, what);
}

}  // namespace

Status add_address(Netlink& nl, const std::string& dev, const IpPrefix& address) {
  return modify(nl, dev, address, true);
}

Status delete_address(Netlink& nl, const std::string& dev, const IpPrefix& address) {
  return modify(nl, dev, address, false);
}

Result<std::vector<IpPrefix>> list_addresses(Netlink& nl, const std::string& dev) {
  std::string what = "listing addresses of " + dev;
  auto idx = detail::ifindex(dev);
  if (!idx) return errno_error(idx.error().code, what);
  ifaddrmsg req{};
  req.ifa_family = AF_UNSPEC;
  nl_msg* msg = detail::new_request(RTM_GETADDR, NLM_F_DUMP, req);
  std::vector<IpPrefix> out;
  Status st = nl.transact(msg, what, [&](nlmsghdr* hdr) {
    if (hdr->nlmsg_type != RTM_NEWADDR) return;
    auto* ifa = static_cast<ifaddrmsg*>(nlmsg_data(hdr));
    if (int(ifa->ifa_index) != *idx) return;
    nlattr* tb[IFA_MAX + 1] = {};
    if (nlmsg_parse(hdr, sizeof(ifaddrmsg), tb, IFA_MAX, nullptr) < 0) return;
    // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point
    // IPv4 links, and the only one IPv6 sends.
    nlattr* a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
    if (a == nullptr) return;
    IpPrefix p;
    if (ifa->ifa_family == AF_INET && nla_len(a) == 4) {
      p.addr = IpAddr::v4_bytes(static_cast<const std::uint8_t*>(nla_data(a)));
    } else if (ifa->ifa_family == AF_INET6 && nla_len(a) == 16) {
      p.addr = IpAddr::v6_bytes(static_cast<const std::uint8_t*>(nla_data(a)));
    } else {
      return;
    }
    p.len = ifa->ifa_prefixlen;
    out.push_back(p);
  });
  if (!st) return st.error();
  return out;
}

}  // namespace wgcore::routing
