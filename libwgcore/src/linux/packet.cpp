// The packet pool: one aligned slab of buffers and one array of Packet headers, allocated at
// construction; afterwards get/put only move pointers on a free list.
#include "linux/packet.hpp"

#include <cstdio>
#include <cstdlib>
#include <new>

namespace wgcore::io {

PacketPool::PacketPool(std::size_t count, std::size_t payload_capacity)
    : count_(count), payload_capacity_(payload_capacity) {
  std::size_t raw = kHeadroom + payload_capacity + kTailroom;
  stride_ = (raw + kBufferAlign - 1) / kBufferAlign * kBufferAlign;
  // Packet keeps 32-bit offsets; a buffer beyond 4 GiB is a configuration error.
  if (stride_ > UINT32_MAX || count == 0) throw std::bad_alloc();
  slab_ = static_cast<std::uint8_t*>(
      ::operator new(stride_ * count, std::align_val_t(kBufferAlign)));
  packets_.reset(new Packet[count]);
  free_.reserve(count);
  // Push in reverse so the first get() returns the first buffer (handy when debugging).
  for (std::size_t i = count; i-- > 0;) {
    Packet& p = packets_[i];
    p.buf_ = slab_ + i * stride_;
    p.cap_ = std::uint32_t(stride_);
    free_.push_back(&p);
  }
}

PacketPool::~PacketPool() { ::operator delete(slab_, std::align_val_t(kBufferAlign)); }

Packet* PacketPool::get() {
  Packet* p;
  {
    std::lock_guard lk(mu_);
    if (free_.empty()) return nullptr;
    p = free_.back();
    free_.pop_back();
    p->in_pool_ = false;
  }
  p->reset();
  return p;
}

std::size_t PacketPool::get(std::span<Packet*> out) {
  std::size_t n;
  {
    std::lock_guard lk(mu_);
    n = out.size() < free_.size() ? out.size() : free_.size();
    for (std::size_t i = 0; i < n; ++i) {
      Packet* p = free_.back();
      free_.pop_back();
      p->in_pool_ = false;
      out[i] = p;
    }
  }
  // Resetting outside the lock keeps the critical section to pointer moves.
  for (std::size_t i = 0; i < n; ++i) out[i]->reset();
  return n;
}

void PacketPool::put_locked(Packet* p) {
  if (!owns(p) || p->in_pool_) {
    std::fprintf(stderr, "wgcore: PacketPool::put of a packet %s\n",
                 owns(p) ? "already in the pool" : "from another pool");
    std::abort();
  }
  p->in_pool_ = true;
  free_.push_back(p);  // never reallocates: capacity is count_ and each packet is in once
}

void PacketPool::put(Packet* p) {
  std::lock_guard lk(mu_);
  put_locked(p);
}

void PacketPool::put(std::span<Packet* const> ps) {
  std::lock_guard lk(mu_);
  for (Packet* p : ps) put_locked(p);
}

std::size_t PacketPool::available() const {
  std::lock_guard lk(mu_);
  return free_.size();
}

bool PacketPool::owns(const Packet* p) const {
  // Compared as integers: relational operators on pointers into different arrays are unspecified.
  auto a = reinterpret_cast<std::uintptr_t>(p);
  auto first = reinterpret_cast<std::uintptr_t>(packets_.get());
  return a >= first && a < first + count_ * sizeof(Packet) && (a - first) % sizeof(Packet) == 0;
}

}  // namespace wgcore::io
