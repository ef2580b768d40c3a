// TUN queue setup (TUNSETIFF), MTU ioctls and batched read/write of IP packets.
#include "linux/tun.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace wgcore::io {
namespace {

constexpr const char* kTunPath = "/dev/net/tun";

Error errno_error(int err, std::string what) {
  return make_error(err, std::move(what) + ": " + std::strerror(err));
}

// SIOC[GS]IFMTU need some socket in the interface's namespace; a throwaway one is enough.
Result<int> mtu_ioctl(const std::string& name, unsigned long req, int value) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) s = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);  // IPv4 may be compiled out
  if (s < 0) return errno_error(errno, "socket for MTU ioctl");
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  ifr.ifr_mtu = value;
  int rc = ::ioctl(s, req, &ifr);
  int err = errno;
  ::close(s);
  if (rc < 0) {
    return errno_error(err, std::string(req == SIOCSIFMTU ? "set" : "get") + " MTU of " + name);
  }
  return ifr.ifr_mtu;
}

bool has_cap_net_admin() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &hdr, data) != 0) return false;
  return data[CAP_TO_INDEX(CAP_NET_ADMIN)].effective & CAP_TO_MASK(CAP_NET_ADMIN);
}

}  // namespace

Result<TunDevice> TunDevice::create(std::string_view name, TunOptions opts) {
  if (name.size() >= IFNAMSIZ) {
    return make_error(EINVAL, "interface name \"" + std::string(name) + "\" is longer than " +
                                  std::to_string(IFNAMSIZ - 1) + " characters");
  }
  int fd = ::open(kTunPath, O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return errno_error(errno, std::string("open ") + kTunPath);

  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (opts.multi_queue) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    ::close(fd);
    std::string what = "create TUN interface \"" + std::string(name) + "\"";
    if (err == EPERM) what += " (needs CAP_NET_ADMIN)";
    if (err == EBUSY) what += " (the name is in use by another queue or interface)";
    if (err == EINVAL) what += " (an interface of that name exists and is not a matching TUN)";
    return errno_error(err, what);
  }
  TunDevice t;
  t.fd_ = fd;
  t.name_.assign(ifr.ifr_name, ::strnlen(ifr.ifr_name, IFNAMSIZ));
  return t;
}

Status TunDevice::available() {
  int fd = ::open(kTunPath, O_RDWR | O_CLOEXEC);
  if (fd < 0) return errno_error(errno, std::string("open ") + kTunPath);
  ::close(fd);
  // Opening the node is allowed to everyone (mode 0666); creating an interface is not.
  if (!has_cap_net_admin()) {
    return make_error(EPERM, "creating a TUN interface needs CAP_NET_ADMIN (run as root)");
  }
  return {};
}

TunDevice::TunDevice(TunDevice&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), name_(std::move(o.name_)) {}

TunDevice& TunDevice::operator=(TunDevice&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    name_ = std::move(o.name_);
  }
  return *this;
}

TunDevice::~TunDevice() {
  if (fd_ >= 0) ::close(fd_);
}

Result<int> TunDevice::mtu() const { return mtu_ioctl(name_, SIOCGIFMTU, 0); }

Status TunDevice::set_mtu(int mtu) {
  auto r = mtu_ioctl(name_, SIOCSIFMTU, mtu);
  if (!r) return r.error();
  return {};
}

IoResult TunDevice::read_batch(std::span<Packet*> pkts) {
  IoResult r;
  while (r.count < pkts.size()) {
    Packet* p = pkts[r.count];
    // One byte more than room() (it lands in the tailroom): the kernel silently truncates a
    // packet to the buffer, so only a read that fills room()+1 reveals a too-long packet.
    ssize_t n = ::read(fd_, p->data(), p->room() + 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) r.error = errno;
      break;
    }
    if (std::size_t(n) > p->room()) {
      // Longer than the pool's buffers (the MTU is above the pool size): drop it and read the
      // next one into the same buffer.
      ++r.dropped;
      continue;
    }
    p->set_len(std::size_t(n));
    p->error = 0;
    ++r.count;
  }
  return r;
}

IoResult TunDevice::write_batch(std::span<Packet* const> pkts) {
  IoResult r;
  while (r.count < pkts.size()) {
    Packet* p = pkts[r.count];
    ssize_t n = ::write(fd_, p->data(), p->len());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        r.error = EAGAIN;
        break;
      }
      p->error = errno;  // this packet is dropped; the rest still go
    } else {
      p->error = 0;
    }
    ++r.count;
  }
  return r;
}

}  // namespace wgcore::io
