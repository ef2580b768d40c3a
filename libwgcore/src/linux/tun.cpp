// TUN queue setup (TUNSETIFF), MTU ioctls and batched read/write of IP packets.
#include "linux/tun.hpp"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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
  if (opts.offloads) ifr.ifr_flags |= IFF_VNET_HDR;
  if (::ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    ::close(fd);
    if (opts.offloads && err == EINVAL) {  // a kernel without IFF_VNET_HDR: plain queue
      opts.offloads = false;
      return create(name, opts);
    }
    std::string what = "create TUN interface \"" + std::string(name) + "\"";
    if (err == EPERM) what += " (needs CAP_NET_ADMIN)";
    if (err == EBUSY) what += " (the name is in use by another queue or interface)";
    if (err == EINVAL) what += " (an interface of that name exists and is not a matching TUN)";
    return errno_error(err, what);
  }
  if (opts.offloads) {
    int hdr = int(kVnetHdrBytes);
    unsigned offload = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    if (::ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 || ::ioctl(fd, TUNSETOFFLOAD, offload) < 0) {
      // Closing deletes the interface we just created (unless another queue holds it); the
      // retry creates it again without the header.
      ::close(fd);
      opts.offloads = false;
      return create(name, opts);
    }
  }
  TunDevice t;
  t.fd_ = fd;
  t.vnet_hdr_ = opts.offloads;
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
    : fd_(std::exchange(o.fd_, -1)),
      name_(std::move(o.name_)),
      vnet_hdr_(std::exchange(o.vnet_hdr_, false)) {}

TunDevice& TunDevice::operator=(TunDevice&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    name_ = std::move(o.name_);
    vnet_hdr_ = std::exchange(o.vnet_hdr_, false);
  }
  return *this;
}

TunDevice::~TunDevice() {
  if (fd_ >= 0) ::close(fd_);
}

Result<int> TunDevice::mtu() const { return mtu_ioctl(name_, SIOCGIFMTU, 0); }

Status TunDevice::set_mtu(int mtu) { return set_interface_mtu(name_, mtu); }

Status set_interface_mtu(const std::string& name, int mtu) {
  if (name.empty() || name.size() >= IFNAMSIZ) return make_error(EINVAL, "invalid interface name \"" + name + "\"");
  auto r = mtu_ioctl(name, SIOCSIFMTU, mtu);
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
    if (vnet_hdr_) {
      if (std::size_t(n) < kVnetHdrBytes || std::size_t(n) > p->room()) {
        ++r.dropped;
        continue;
      }
      p->vnet = VnetHdr::parse(p->data());
      p->set_len(std::size_t(n));
      p->pull_front(kVnetHdrBytes);
      p->error = 0;
      ++r.count;
      continue;
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
  TcpCoalescer gro;
  // Kernels before 6.2 (and some builds) limit a TUN GSO packet's segments; 64 is always fine.
  constexpr std::size_t kMaxCoalesce = 64;
  while (r.count < pkts.size()) {
    const std::size_t start = r.count;
    std::size_t end = start + 1;
    ssize_t n;
    if (!vnet_hdr_) {
      n = ::write(fd_, pkts[start]->data(), pkts[start]->len());
    } else if (gro.start(pkts[start]->bytes())) {
      while (end < pkts.size() && end - start < kMaxCoalesce && gro.append(pkts[end]->bytes())) ++end;
      // One write: the virtio-net header and fixed-up headers, then every segment's payload.
      std::uint8_t hdr[TcpCoalescer::kMaxHeader];
      iovec iov[kMaxCoalesce + 1];
      iov[0] = {hdr, gro.header(hdr)};
      const std::size_t off = gro.payload_offset();
      for (std::size_t i = start; i < end; ++i)
        iov[1 + i - start] = {pkts[i]->data() + off, pkts[i]->len() - off};
      n = ::writev(fd_, iov, int(end - start + 1));
    } else {
      // A complete packet (checksums done, no segmentation): an all-zero header.
      static const std::uint8_t kNoOffload[kVnetHdrBytes] = {};
      iovec iov[2] = {{const_cast<std::uint8_t*>(kNoOffload), kVnetHdrBytes},
                      {pkts[start]->data(), pkts[start]->len()}};
      n = ::writev(fd_, iov, 2);
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        r.error = EAGAIN;
        break;
      }
    }
    // A rejected write (not IP, interface down) drops its packets; the rest still go.
    for (std::size_t i = start; i < end; ++i) pkts[i]->error = n < 0 ? errno : 0;
    r.count = end;
  }
  return r;
}

}  // namespace wgcore::io
