// Link state over rtnetlink; see link.hpp.
#include "routing/link.hpp"

#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/route/link.h>

#include "nl_addr.hpp"

namespace wgcore::routing {

namespace {

struct LinkPut {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
using LinkPtr = std::unique_ptr<rtnl_link, LinkPut>;

// orig names the link by index; changes holds what to set.
Status change(Netlink& nl, const std::string& dev, const std::string& what,
              void (*fill)(rtnl_link*, unsigned), unsigned arg) {
  auto idx = detail::ifindex(dev);
  if (!idx) return errno_error(idx.error().code, what);
  LinkPtr orig(rtnl_link_alloc()), changes(rtnl_link_alloc());
  if (!orig || !changes) return errno_error(ENOMEM, what);
  rtnl_link_set_ifindex(orig.get(), *idx);
  fill(changes.get(), arg);
  nl_msg* msg = nullptr;
  int r = rtnl_link_build_change_request(orig.get(), changes.get(), 0, &msg);
  if (r < 0) return nl_error(r, what);
  return nl.transact(msg, what);
}

}  // namespace

Result<LinkInfo> get_link(Netlink& nl, const std::string& dev) {
  std::string what = "reading link " + dev;
  nl_msg* msg = nullptr;
  int r = rtnl_link_build_get_request(0, dev.c_str(), &msg);
  if (r < 0) return nl_error(r, what);
  LinkInfo info;
  bool seen = false;
  Status st = nl.transact(msg, what, [&](nlmsghdr* hdr) {
    if (hdr->nlmsg_type != RTM_NEWLINK) return;
    auto* ifi = static_cast<ifinfomsg*>(nlmsg_data(hdr));
    nlattr* tb[IFLA_MAX + 1] = {};
    if (nlmsg_parse(hdr, sizeof(ifinfomsg), tb, IFLA_MAX, nullptr) < 0) return;
    seen = true;
    info.index = ifi->ifi_index;
    info.up = (ifi->ifi_flags & IFF_UP) != 0;
    if (tb[IFLA_IFNAME]) info.name = nla_get_string(tb[IFLA_IFNAME]);
    if (tb[IFLA_MTU]) info.mtu = nla_get_u32(tb[IFLA_MTU]);
    if (tb[IFLA_LINKINFO]) {
      nlattr* li[IFLA_INFO_MAX + 1] = {};
      if (nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], nullptr) == 0 && li[IFLA_INFO_KIND])
        info.kind = nla_get_string(li[IFLA_INFO_KIND]);
    }
  });
  if (!st) return st.error();
  if (!seen) return errno_error(ENODEV, what);
  return info;
}

Status set_link_up(Netlink& nl, const std::string& dev, bool up) {
  return change(nl, dev, std::string("setting link ") + dev + (up ? " up" : " down"),
                up ? +[](rtnl_link* l, unsigned) { rtnl_link_set_flags(l, IFF_UP); }
                   : +[](rtnl_link* l, unsigned) { rtnl_link_unset_flags(l, IFF_UP); },
                0);
}

Status set_link_mtu(Netlink& nl, const std::string& dev, unsigned mtu) {
  return change(nl, dev, "setting mtu " + std::to_string(mtu) + " on " + dev,
                [](rtnl_link* l, unsigned m) { rtnl_link_set_mtu(l, m); }, mtu);
}

Status delete_link(Netlink& nl, const std::string& dev) {
  std::string what = "deleting link " + dev;
  LinkPtr link(rtnl_link_alloc());
  if (!link) return errno_error(ENOMEM, what);
  rtnl_link_set_name(link.get(), dev.c_str());
  nl_msg* msg = nullptr;
  int r = rtnl_link_build_delete_request(link.get(), &msg);
  if (r < 0) return nl_error(r, what);
  return nl.transact(msg, what);
}

}  // namespace wgcore::routing
