// The route netlink socket and request loop; see netlink.hpp.
#include "routing/netlink.hpp"

#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/handlers.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <cstring>

namespace wgcore::routing {

void Netlink::SockFree::operator()(nl_sock* s) const { nl_socket_free(s); }

Netlink::~Netlink() = default;

namespace {

// libnl folds the kernel's errno into its own NLE_* codes; map the common ones back so a
// user sees the message `ip` would print. Only used when the kernel's errno was not seen.
int nle_to_errno(int nle) {
  switch (nle < 0 ? -nle : nle) {
    case NLE_EXIST: return EEXIST;
    case NLE_OBJ_NOTFOUND: return ENOENT;
    case NLE_NODEV: return ENODEV;
    case NLE_PERM: return EPERM;
    case NLE_NOACCESS: return EACCES;
    case NLE_NOMEM: return ENOMEM;
    case NLE_AGAIN: return EAGAIN;
    case NLE_BUSY: return EBUSY;
    case NLE_RANGE: return ERANGE;
    case NLE_NOADDR: return EADDRNOTAVAIL;
    case NLE_AF_NOSUPPORT: return EAFNOSUPPORT;
    case NLE_OPNOTSUPP: return EOPNOTSUPP;
    case NLE_PROTO_MISMATCH: return EPROTONOSUPPORT;
    case NLE_MSGSIZE: return EMSGSIZE;
    case NLE_MSG_TRUNC: return EMSGSIZE;
    case NLE_INTR: return EINTR;
    case NLE_BAD_SOCK: return EBADF;
    case NLE_IMMUTABLE: return EPERM;
    case NLE_INVAL: return EINVAL;
    default: return EIO;
  }
}

struct Exchange {
  const Netlink::OnMessage* on_message = nullptr;
  int kernel_errno = 0;
  bool done = false;
};

int on_valid(nl_msg* msg, void* arg) {
  auto* ex = static_cast<Exchange*>(arg);
  if (ex->on_message && *ex->on_message) (*ex->on_message)(nlmsg_hdr(msg));
  return NL_OK;
}

int on_done(nl_msg*, void* arg) {
  static_cast<Exchange*>(arg)->done = true;
  return NL_STOP;
}

int on_error(sockaddr_nl*, nlmsgerr* err, void* arg) {
  auto* ex = static_cast<Exchange*>(arg);
  ex->kernel_errno = err->error < 0 ? -err->error : err->error;
  ex->done = true;
  return NL_STOP;
}

}  // namespace

Error errno_error(int code, const std::string& what) {
  return make_error(code, what + ": " + std::strerror(code));
}

Error nl_error(int nl_code, const std::string& what) {
  return errno_error(nle_to_errno(nl_code), what);
}

Result<Netlink> Netlink::open() {
  nl_sock* s = nl_socket_alloc();
  if (s == nullptr) return errno_error(ENOMEM, "allocating a netlink socket");
  Netlink nl(s);
  int r = nl_connect(s, NETLINK_ROUTE);
  if (r < 0) return nl_error(r, "connecting to route netlink");
  return nl;
}

Status Netlink::transact(nl_msg* msg, const std::string& what, const OnMessage& on_message) {
  std::unique_ptr<nl_msg, void (*)(nl_msg*)> owned(msg, nlmsg_free);
  if (msg == nullptr) return errno_error(ENOMEM, what);
  std::unique_ptr<nl_cb, void (*)(nl_cb*)> cb(nl_cb_alloc(NL_CB_DEFAULT), nl_cb_put);
  if (!cb) return errno_error(ENOMEM, what);
  Exchange ex;
  ex.on_message = &on_message;
  nl_cb_set(cb.get(), NL_CB_VALID, NL_CB_CUSTOM, on_valid, &ex);
  nl_cb_set(cb.get(), NL_CB_ACK, NL_CB_CUSTOM, on_done, &ex);
  nl_cb_set(cb.get(), NL_CB_FINISH, NL_CB_CUSTOM, on_done, &ex);
  nl_cb_err(cb.get(), NL_CB_CUSTOM, on_error, &ex);

  nlmsghdr* hdr = nlmsg_hdr(msg);
  // Every request asks for an ack, so the loop below always has an end; dumps end in DONE.
  if (!(hdr->nlmsg_flags & NLM_F_DUMP)) hdr->nlmsg_flags |= NLM_F_ACK;
  int r = nl_send_auto(sock(), msg);
  if (r < 0) return nl_error(r, what);
  while (!ex.done) {
    r = nl_recvmsgs(sock(), cb.get());
    if (ex.kernel_errno != 0) return errno_error(ex.kernel_errno, what);
    if (r < 0) return nl_error(r, what);
  }
  return {};
}

}  // namespace wgcore::routing
