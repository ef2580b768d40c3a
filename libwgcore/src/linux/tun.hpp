// The Linux TUN interface: a non-blocking /dev/net/tun queue carrying bare IP packets
// (IFF_TUN | IFF_NO_PI), read and written in batches of pool packets, plus its MTU.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "linux/packet.hpp"
#include "wgcore/result.hpp"

namespace wgcore::io {

struct TunOptions {
  // IFF_MULTI_QUEUE: create() with the same name again attaches another queue (one per
  // worker); the interface lives until its last queue closes.
  bool multi_queue = false;
  // IFF_VNET_HDR with TUNSETOFFLOAD (checksum offload, TSO for IPv4/IPv6): reads may return
  // TCP super-packets of up to 64 KiB (Packet::vnet says how to segment them) and packets with
  // a partial checksum. If the kernel refuses, the queue is reopened without them (vnet_hdr()).
  bool offloads = false;
};

class TunDevice {
 public:
  // Creates (or, for a persistent or multi-queue interface, attaches to) the TUN interface.
  // name may be empty or a kernel template like "wg%d"; name() then has the real one. The
  // interface is created down; addresses and link state are the caller's business.
  static Result<TunDevice> create(std::string_view name, TunOptions opts = {});
  // Whether this process can create a TUN interface: /dev/net/tun opens and the process has
  // CAP_NET_ADMIN. The error's message says which is missing (for backend auto-selection).
  static Status available();

  TunDevice() = default;
  TunDevice(TunDevice&& o) noexcept;
  TunDevice& operator=(TunDevice&& o) noexcept;
  TunDevice(const TunDevice&) = delete;
  TunDevice& operator=(const TunDevice&) = delete;
  // Closes the queue; the kernel deletes a non-persistent interface when its last queue closes.
  ~TunDevice();

  int fd() const { return fd_; }
  const std::string& name() const { return name_; }
  bool is_open() const { return fd_ >= 0; }
  // Reads and writes carry a virtio-net header (offloads on): read buffers need 64 KiB of room.
  bool vnet_hdr() const { return vnet_hdr_; }

  Result<int> mtu() const;
  Status set_mtu(int mtu);

  // Reads packets into pkts[0..] (each at data(), up to room() bytes) until the queue is empty
  // or the span is full. Sets len() and clears error on each packet read; with vnet_hdr(), also
  // Packet::vnet (the header itself is stripped). room() should be at
  // least the MTU: a longer packet is dropped and counted in IoResult::dropped.
  IoResult read_batch(std::span<Packet*> pkts);
  // Writes each packet's bytes as one IP packet. A packet the kernel rejects (not IP, interface
  // down) is skipped with Packet::error set; EAGAIN stops the batch. With vnet_hdr(), runs of
  // consecutive segments of one TCP flow are written as one super-packet (TcpCoalescer); its
  // packets share the write's result.
  IoResult write_batch(std::span<Packet* const> pkts);

 private:
  int fd_ = -1;
  std::string name_;
  bool vnet_hdr_ = false;
};

// SIOCSIFMTU on any interface of this network namespace.
Status set_interface_mtu(const std::string& name, int mtu);

}  // namespace wgcore::io
