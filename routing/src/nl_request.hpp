// Building rtnetlink requests: a message of one type carrying its fixed header (rtmsg, ifaddrmsg,
// fib_rule_hdr, ...), to which callers append attributes. Private to routing/.
#pragma once

#include <netlink/msg.h>

namespace wgcore::routing::detail {

// nullptr when allocation fails; Netlink::transact reports a null message as an error.
template <class Hdr>
nl_msg* new_request(int type, int flags, const Hdr& hdr) {
  nl_msg* msg = nlmsg_alloc_simple(type, flags);
  if (msg != nullptr && nlmsg_append(msg, const_cast<Hdr*>(&hdr), sizeof hdr, NLMSG_ALIGNTO) < 0) {
    nlmsg_free(msg);
    return nullptr;
  }
  return msg;
}

}  // namespace wgcore::routing::detail
