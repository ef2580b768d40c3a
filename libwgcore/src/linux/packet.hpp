// Packet buffers for the datapath: one pool allocated up front, buffers with headroom and
// tailroom so headers are prepended and the AEAD tag appended in place, and fixed-size batches
// of Packet* that every I/O call takes as a span. Nothing here allocates after construction.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "core/messages.hpp"
#include "linux/vnet.hpp"
#include "wgcore/ip.hpp"

namespace wgcore::io {

// Room in front of the payload: a virtio_net_hdr_v1 (12 bytes, for IFF_VNET_HDR later) plus
// WireGuard's 16-byte data header fit with space to spare; 64 keeps the payload cache-line
// aligned so the cipher works on aligned data.
inline constexpr std::size_t kHeadroom = 64;
inline constexpr std::size_t kVnetHdrLen = 12;  // sizeof(virtio_net_hdr_v1)
// Room behind the largest payload a reader may fill: up to 15 bytes of zero padding plus the
// 16-byte Poly1305 tag, so a packet read from the TUN is encrypted without moving it.
inline constexpr std::size_t kTailroom = 32;
inline constexpr std::size_t kBufferAlign = 64;
// Default payload capacity: buffers of exactly 2 KiB, enough for any datagram that fits a 1500
// byte link. The device picks a larger one when the MTU (or, later, GSO) needs it.
inline constexpr std::size_t kDefaultPayloadCapacity = 2048 - kHeadroom - kTailroom;
// The most packets one I/O call moves; the size of PacketBatch and of the mmsghdr arrays.
inline constexpr std::size_t kMaxBatch = 128;

static_assert(kHeadroom >= kVnetHdrLen + proto::kDataHeaderLen && kHeadroom % 16 == 0);
static_assert(kTailroom >= proto::kPaddingMultiple - 1 + proto::kAeadTagLen);

// Our side of a UDP flow. On receive: the address the datagram was sent to (and the interface it
// came in on). On send: the sticky source address to use, or unset to let routing choose.
struct LocalAddr {
  IpAddr ip;
  std::uint32_t ifindex = 0;  // reported on receive; sends let routing choose the interface
  bool set = false;

  static LocalAddr of(const IpAddr& a, std::uint32_t ifindex = 0) { return {a, ifindex, true}; }
  void clear() { *this = LocalAddr{}; }
  friend bool operator==(const LocalAddr&, const LocalAddr&) = default;
};

// One packet buffer. The bytes live in the pool's slab; the struct holds the window
// [offset, offset+len) into them and the metadata every stage needs. Owned by exactly one stage
// at a time (whoever holds the pointer); returned to the pool with PacketPool::put.
class Packet {
 public:
  Packet(const Packet&) = delete;
  Packet& operator=(const Packet&) = delete;

  std::uint8_t* data() { return buf_ + offset_; }
  const std::uint8_t* data() const { return buf_ + offset_; }
  std::size_t len() const { return len_; }
  std::span<std::uint8_t> bytes() { return {data(), len_}; }
  std::span<const std::uint8_t> bytes() const { return {data(), len_}; }

  std::size_t headroom() const { return offset_; }
  // Bytes behind the payload up to the end of the buffer (includes the reserved tailroom).
  std::size_t tailroom() const { return cap_ - offset_ - len_; }
  // The most a reader (TUN read, UDP receive) may put at data(): the buffer minus headroom
  // used and minus the reserved tailroom.
  std::size_t room() const { return cap_ - kTailroom - offset_; }

  // Sets the payload length; false (and no change) if it would run past the buffer.
  bool set_len(std::size_t n) {
    if (n > cap_ - offset_) return false;
    len_ = std::uint32_t(n);
    return true;
  }
  // Grows the payload at the front (to write a header in place); nullptr if no headroom.
  std::uint8_t* push_front(std::size_t n) {
    if (n > offset_) return nullptr;
    offset_ -= std::uint32_t(n);
    len_ += std::uint32_t(n);
    return data();
  }
  // Drops n bytes from the front (to strip a header); nullptr if shorter than n.
  std::uint8_t* pull_front(std::size_t n) {
    if (n > len_) return nullptr;
    offset_ += std::uint32_t(n);
    len_ -= std::uint32_t(n);
    return data();
  }
  // Grows the payload at the back (padding, tag); returns the added bytes or nullptr.
  std::uint8_t* put_back(std::size_t n) {
    if (n > tailroom()) return nullptr;
    std::uint8_t* p = data() + len_;
    len_ += std::uint32_t(n);
    return p;
  }
  // Back to the state PacketPool::get hands out: empty payload at kHeadroom, metadata cleared.
  void reset() {
    offset_ = kHeadroom;
    len_ = 0;
    remote = Endpoint();
    local.clear();
    user = nullptr;
    state = 0;
    error = 0;
    gso_size = 0;
    tos = 0;
    rx_time = {};
    vnet = VnetHdr{};
    source_cleared = false;
  }

  // ---- Metadata. ----
  Endpoint remote;  // receive: who sent it; send: where it goes
  LocalAddr local;  // receive: our address it arrived on; send: sticky source (optional)
  void* user = nullptr;    // the device's slot (e.g. the peer)
  std::uint32_t state = 0;  // the device's pipeline state (e.g. crypto result); I/O ignores it
  int error = 0;           // result of the last I/O on this packet: 0 or a positive errno
  // Receive with UDP GRO: the buffer holds several datagrams of this size back to back (the
  // last may be shorter); 0 when it holds exactly one.
  std::uint16_t gso_size = 0;
  // UDP: the DS field (IPv4 TOS / IPv6 traffic class) of the outer IP header. Receive: as it
  // arrived (IP_RECVTOS / IPV6_RECVTCLASS; a GRO batch shares one, the kernel merges only equal
  // ones); send: what to put there (0: the socket's default). Its ECN bits carry congestion
  // marks through the tunnel (core/ecn.hpp).
  std::uint8_t tos = 0;
  // UDP receive: when the kernel took the datagram in (SO_TIMESTAMPNS: CLOCK_REALTIME since the
  // epoch, like Clock::wall_now), so the time it then waited in the socket's queue is known; 0
  // when the kernel did not say.
  std::chrono::nanoseconds rx_time{0};
  // TUN read with offloads: the virtio-net header that came with the packet (TSO, checksum).
  VnetHdr vnet;
  bool source_cleared = false;  // send found the sticky source unusable and sent without it

 private:
  friend class PacketPool;
  Packet() = default;

  std::uint8_t* buf_ = nullptr;
  std::uint32_t cap_ = 0;
  std::uint32_t offset_ = kHeadroom;
  std::uint32_t len_ = 0;
  bool in_pool_ = true;
};

// A fixed set of packets allocated once. get/put are thread-safe: a mutex guards a LIFO free
// list (an array of pointers, never resized), taken once per call, so the batch calls cost one
// lock per batch. LIFO hands back the most recently used, cache-warm buffers first.
class PacketPool {
 public:
  // count buffers, each with kHeadroom + payload_capacity + kTailroom bytes (rounded up to
  // kBufferAlign). Throws std::bad_alloc like any container; this is control-path setup.
  explicit PacketPool(std::size_t count, std::size_t payload_capacity = kDefaultPayloadCapacity);
  ~PacketPool();
  PacketPool(const PacketPool&) = delete;
  PacketPool& operator=(const PacketPool&) = delete;

  // One packet, reset, or nullptr when the pool is exhausted.
  Packet* get();
  // Fills out[0..n) with reset packets, n = min(out.size(), available()); returns n.
  std::size_t get(std::span<Packet*> out);
  // Returns packets to the pool. Putting a packet twice, or one from another pool, is a bug
  // that would corrupt the free list, so it aborts.
  void put(Packet* p);
  void put(std::span<Packet* const> ps);

  std::size_t count() const { return count_; }
  std::size_t available() const;
  std::size_t payload_capacity() const { return payload_capacity_; }
  bool owns(const Packet* p) const;

 private:
  void put_locked(Packet* p);

  std::size_t count_;
  std::size_t payload_capacity_;
  std::size_t stride_;
  std::uint8_t* slab_ = nullptr;
  std::unique_ptr<Packet[]> packets_;
  mutable std::mutex mu_;
  std::vector<Packet*> free_;  // reserved to count_ up front; only its size changes
};

// What a batched read or write did. count: packets consumed from the front of the span (for
// reads: filled; for writes: sent, or dropped with Packet::error set). error: 0, or the errno
// that stopped the call early. A read that finds nothing more returns what it got with error 0;
// a write that finds the socket full stops with error == EAGAIN, and the caller waits for
// EPOLLOUT or drops the rest. dropped: reads only, packets that arrived but were discarded
// (larger than the buffers), for the device's error counters.
struct IoResult {
  std::size_t count = 0;
  int error = 0;
  std::size_t dropped = 0;
};

// Up to kMaxBatch packet pointers with a size, passed to I/O calls as a span.
//   PacketBatch b;
//   b.resize(pool.get(b.slots()));          // take fresh buffers
//   auto r = udp.recv_batch(AF_INET, b.span());
//   ...use b[0..r.count)...; pool.put(b.span()); b.clear();
class PacketBatch {
 public:
  static constexpr std::size_t kCapacity = kMaxBatch;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == kCapacity; }
  Packet*& operator[](std::size_t i) { return items_[i]; }
  Packet* operator[](std::size_t i) const { return items_[i]; }
  bool push_back(Packet* p) {
    if (size_ == kCapacity) return false;
    items_[size_++] = p;
    return true;
  }
  void clear() { size_ = 0; }
  // Sets the size (capped at capacity), e.g. after filling slots() directly.
  void resize(std::size_t n) { size_ = n < kCapacity ? n : kCapacity; }
  std::span<Packet*> span() { return {items_, size_}; }
  std::span<Packet* const> span() const { return {items_, size_}; }
  // All kCapacity slots regardless of size, for filling.
  std::span<Packet*> slots() { return {items_, kCapacity}; }
  Packet** begin() { return items_; }
  Packet** end() { return items_ + size_; }

 private:
  Packet* items_[kCapacity] = {};
  std::size_t size_ = 0;
};

}  // namespace wgcore::io
