// A peer's prefixes in the configuration model, in order: up to two inline (one /32 and one
// /128 is the usual peer), on the heap beyond that. 40 bytes in the peer's entry against a
// vector's 24 plus a 48-byte heap block for two prefixes (docs/performance-control.md counts
// every idle byte). Only the part of std::vector's interface the model uses.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "wgcore/ip.hpp"

namespace wgcore {

class PrefixList {
 public:
  static constexpr std::uint32_t kInline = 2;

  PrefixList() = default;
  PrefixList(const PrefixList&) = delete;
  PrefixList& operator=(const PrefixList&) = delete;
  ~PrefixList() { release(); }

  std::size_t size() const noexcept { return size_ & ~kHeapBit; }
  bool empty() const noexcept { return size() == 0; }
  IpPrefix* data() noexcept { return on_heap() ? heap_data() : u_.inl; }
  const IpPrefix* data() const noexcept { return on_heap() ? heap_data() : u_.inl; }
  IpPrefix& operator[](std::size_t i) noexcept { return data()[i]; }
  const IpPrefix& operator[](std::size_t i) const noexcept { return data()[i]; }
  IpPrefix* begin() noexcept { return data(); }
  IpPrefix* end() noexcept { return data() + size(); }
  const IpPrefix* begin() const noexcept { return data(); }
  const IpPrefix* end() const noexcept { return data() + size(); }

  void push_back(const IpPrefix& p) {
    const std::uint32_t n = std::uint32_t(size());
    if (n == capacity()) grow(n == 0 ? kInline : n * 2);
    data()[n] = p;
    size_ = (size_ & kHeapBit) | (n + 1);
  }
  // Shrinks to n (<= size()) entries, keeping the first n.
  void resize(std::size_t n) noexcept { size_ = (size_ & kHeapBit) | std::uint32_t(std::min(n, size())); }
  // Empties the list and gives its heap block back.
  void clear() noexcept {
    release();
    size_ = 0;
  }

 private:
  static constexpr std::uint32_t kHeapBit = 0x80000000u;
  struct Heap {  // kept as bytes: the union stays 1-aligned, the list 40 bytes
    IpPrefix* data;
    std::uint32_t capacity;
  };

  bool on_heap() const noexcept { return size_ & kHeapBit; }
  Heap heap() const noexcept {
    Heap h;
    std::memcpy(&h, u_.raw, sizeof h);
    return h;
  }
  IpPrefix* heap_data() const noexcept { return heap().data; }
  std::uint32_t capacity() const noexcept { return on_heap() ? heap().capacity : kInline; }

  void grow(std::uint32_t cap) {
    if (cap <= kInline) return;  // the inline space is there already
    auto* fresh = new IpPrefix[cap];
    const std::size_t n = size();
    std::copy(data(), data() + n, fresh);
    release();
    const Heap h{fresh, cap};
    std::memcpy(u_.raw, &h, sizeof h);
    size_ = kHeapBit | std::uint32_t(n);
  }
  void release() noexcept {
    if (!on_heap()) return;
    delete[] heap_data();
    size_ &= ~kHeapBit;
  }

  union U {
    U() {}
    IpPrefix inl[kInline];
    unsigned char raw[sizeof(Heap)];
  } u_;
  std::uint32_t size_ = 0;  // the count; kHeapBit set while the entries are on the heap
};

}  // namespace wgcore
