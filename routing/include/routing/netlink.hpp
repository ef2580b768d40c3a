// A route netlink (NETLINK_ROUTE) socket on libnl-3 and the one request/answer loop every
// routing call goes through, so errors keep the kernel's exact errno ("File exists", not
// libnl's "Object exists") and name the object the request was about.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "wgcore/result.hpp"

struct nl_sock;
struct nl_msg;
struct nlmsghdr;

namespace wgcore::routing {

class Netlink {
 public:
  // Connects a NETLINK_ROUTE socket in the calling thread's network namespace.
  static Result<Netlink> open();

  Netlink(Netlink&&) noexcept = default;
  Netlink& operator=(Netlink&&) noexcept = default;
  ~Netlink();

  // Called for each answer message of a request (dump parts or a single reply).
  using OnMessage = std::function<void(nlmsghdr*)>;
  // Sends msg (taking ownership) and reads until the kernel's ack, error or end of dump. On
  // failure the error reads "WHAT: strerror(errno)" with the kernel's errno as the code.
  Status transact(nl_msg* msg, const std::string& what, const OnMessage& on_message = {});

  nl_sock* sock() const { return sock_.get(); }

 private:
  struct SockFree {
    void operator()(nl_sock* s) const;
  };
  explicit Netlink(nl_sock* s) : sock_(s) {}
  std::unique_ptr<nl_sock, SockFree> sock_;
};

// "WHAT: strerror(code)" with code as the error's errno.
Error errno_error(int code, const std::string& what);
// A libnl error code (negative NLE_*) as an errno-style Error naming what failed.
Error nl_error(int nl_code, const std::string& what);

}  // namespace wgcore::routing
