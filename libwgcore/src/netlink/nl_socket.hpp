// A libnl-3 socket owned RAII-style, plus the raw request/answer exchange the wireguard code
// needs: send bytes we built ourselves, collect the answer messages up to the ACK or NLMSG_DONE.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "netlink/wg_genl.hpp"
#include "wgcore/result.hpp"

struct nl_sock;

namespace wgcore::netlink {

// libnl's NLE_* codes (positive) as errno values, for Error::code.
int nl_error_to_errno(int nle);
Error nl_error(int nle, const std::string& context);

class NlSocket {
 public:
  // protocol: NETLINK_GENERIC or NETLINK_ROUTE.
  static Result<NlSocket> connect(int protocol);
  NlSocket(NlSocket&&) noexcept;
  NlSocket& operator=(NlSocket&&) noexcept;
  ~NlSocket();

  nl_sock* get() const { return sock_; }

  // The generic netlink family id of `name` (ENOENT when the kernel has no such family: for
  // "wireguard", no module).
  Result<std::uint16_t> resolve_family(const char* name);

  // Sends `request` (its seq and port id are filled in here) and hands every answer message to
  // on_message until the final ACK (request with NLM_F_ACK) or NLMSG_DONE (dumps). An
  // NLMSG_ERROR with a non-zero code ends the exchange with that errno.
  Status exchange(Bytes request, const std::function<Status(ByteView)>& on_message);

 private:
  explicit NlSocket(nl_sock* s) : sock_(s) {}
  nl_sock* sock_ = nullptr;
};

}  // namespace wgcore::netlink
