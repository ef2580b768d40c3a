// NlSocket: libnl-3 owns the socket and its port id; the message bytes are ours (wg_genl).
#include "netlink/nl_socket.hpp"

#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>

#include <cstdlib>
#include <cstring>

namespace wgcore::netlink {

int nl_error_to_errno(int nle) {
  switch (nle < 0 ? -nle : nle) {
    case NLE_SUCCESS: return 0;
    case NLE_INTR: return EINTR;
    case NLE_AGAIN: return EAGAIN;
    case NLE_NOMEM: return ENOMEM;
    case NLE_EXIST: return EEXIST;
    case NLE_INVAL: return EINVAL;
    case NLE_RANGE: return ERANGE;
    case NLE_MSGSIZE: return EMSGSIZE;
    case NLE_OPNOTSUPP: return EOPNOTSUPP;
    case NLE_AF_NOSUPPORT: return EAFNOSUPPORT;
    case NLE_OBJ_NOTFOUND: return ENOENT;
    case NLE_BUSY: return EBUSY;
    case NLE_NOACCESS: return EACCES;
    case NLE_PERM: return EPERM;
    case NLE_NODEV: return ENODEV;
    case NLE_DUMP_INTR: return EINTR;
    default: return EIO;
  }
}

Error nl_error(int nle, const std::string& context) {
  return make_error(nl_error_to_errno(nle), context + ": " + nl_geterror(nle < 0 ? -nle : nle));
}

Result<NlSocket> NlSocket::connect(int protocol) {
  nl_sock* s = nl_socket_alloc();
  if (!s) return make_error(ENOMEM, "netlink socket: out of memory");
  NlSocket sock(s);
  if (int r = nl_connect(s, protocol); r < 0) return nl_error(r, "netlink connect");
  nl_socket_enable_msg_peek(s);  // dump skbs can exceed any fixed buffer
  return sock;
}

NlSocket::NlSocket(NlSocket&& o) noexcept : sock_(o.sock_) { o.sock_ = nullptr; }
NlSocket& NlSocket::operator=(NlSocket&& o) noexcept {
  std::swap(sock_, o.sock_);
  return *this;
}
NlSocket::~NlSocket() {
  if (sock_) nl_socket_free(sock_);
}

Result<std::uint16_t> NlSocket::resolve_family(const char* name) {
  int id = genl_ctrl_resolve(sock_, name);
  if (id < 0) {
    Error e = nl_error(id, std::string("generic netlink family \"") + name + "\"");
    return e;
  }
  return static_cast<std::uint16_t>(id);
}

Status NlSocket::exchange(Bytes request, const std::function<Status(ByteView)>& on_message) {
  nlmsghdr h;
  std::memcpy(&h, request.data(), sizeof h);
  h.nlmsg_seq = nl_socket_use_seq(sock_);
  h.nlmsg_pid = nl_socket_get_local_port(sock_);
  std::memcpy(request.data(), &h, sizeof h);
  const bool dump = (h.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
  if (int r = nl_sendto(sock_, request.data(), request.size()); r < 0)
    return nl_error(r, "netlink send");

  Status result;
  for (;;) {
    sockaddr_nl from{};
    unsigned char* buf = nullptr;
    int n = nl_recv(sock_, &from, &buf, nullptr);
    if (n <= 0) {
      std::free(buf);
      if (n == 0) return make_error(EPROTO, "netlink: kernel closed the exchange");
      return nl_error(n, "netlink receive");
    }
    std::unique_ptr<unsigned char, decltype(&std::free)> owner(buf, &std::free);
    auto msgs = split_messages(ByteView(buf, static_cast<std::size_t>(n)));
    if (!msgs) return msgs.error();
    for (ByteView m : *msgs) {
      nlmsghdr mh;
      std::memcpy(&mh, m.data(), sizeof mh);
      if (mh.nlmsg_seq != h.nlmsg_seq) continue;  // a stale answer to an earlier request
      if (mh.nlmsg_type == NLMSG_ERROR) {
        nlmsgerr err;
        if (m.size() < NLMSG_HDRLEN + sizeof err)
          return make_error(EPROTO, "netlink: short error message");
        std::memcpy(&err, m.data() + NLMSG_HDRLEN, sizeof err);
        if (err.error != 0) return make_error(-err.error, std::strerror(-err.error));
        return result;  // the ACK ends every request we send
      }
      if (mh.nlmsg_type == NLMSG_DONE) {
        if (dump) {
          // A dump error arrives as a negative int after the header.
          if (m.size() >= NLMSG_HDRLEN + sizeof(int)) {
            int e;
            std::memcpy(&e, m.data() + NLMSG_HDRLEN, sizeof e);
            if (e < 0) return make_error(-e, std::strerror(-e));
          }
          return result;
        }
        continue;
      }
      if (result) result = on_message(m);  // keep draining after a parse error
    }
  }
}

}  // namespace wgcore::netlink
