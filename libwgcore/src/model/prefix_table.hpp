// Who owns each prefix, and where it sits in the owner's list: a hash table from IpPrefix to
// (owner, position), open-addressed. The entries live in one array (linear probing, deletion by
// backward shift, so no tombstones accumulate under churn), not in a node per prefix. The
// configuration model keeps one entry per AllowedIPs prefix of the device, up to a full BGP
// table: std::unordered_map cost a 64-byte node plus a bucket pointer per prefix and one
// allocation per insert; this costs a 32-byte slot at a load of at most 3/4 (at least 3/8 right
// after growing; the table does not shrink when prefixes go).
// Entry pointers stay valid until the next insert or erase.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "wgcore/ip.hpp"

namespace wgcore {

template <class Owner, class Hash>
class PrefixOwners {
 public:
  struct Entry {
    IpPrefix key;  // key.len == kFree marks a free slot
    std::uint32_t pos = 0;
    Owner* owner = nullptr;
  };
  static_assert(sizeof(IpPrefix) <= 20, "a slot is meant to fit 32 bytes");

  std::size_t size() const { return size_; }

  Entry* find(const IpPrefix& k) {
    if (size_ == 0) return nullptr;
    for (std::size_t i = home(k);; i = next(i)) {
      Entry& e = slots_[i];
      if (e.key.len == kFree) return nullptr;
      if (e.key == k) return &e;
    }
  }

  // The entry for k, made (with no owner) when absent; second: whether it was made.
  std::pair<Entry*, bool> try_emplace(const IpPrefix& k) {
    if ((size_ + 1) * 4 > capacity_ * 3) grow();
    for (std::size_t i = home(k);; i = next(i)) {
      Entry& e = slots_[i];
      if (e.key.len == kFree) {
        e = Entry{k, 0, nullptr};
        ++size_;
        return {&e, true};
      }
      if (e.key == k) return {&e, false};
    }
  }

  bool erase(const IpPrefix& k) {
    if (size_ == 0) return false;
    std::size_t i = home(k);
    for (;; i = next(i)) {
      if (slots_[i].key.len == kFree) return false;
      if (slots_[i].key == k) break;
    }
    // Backward shift: later entries of the probe run move into the hole when their home allows,
    // so every remaining key stays reachable from its home without a tombstone.
    for (std::size_t j = next(i);; j = next(j)) {
      Entry& e = slots_[j];
      if (e.key.len == kFree) break;
      const std::size_t h = home(e.key);
      // e may move to i if i lies cyclically in [h, j).
      if (((j - h) & mask()) >= ((j - i) & mask())) {
        slots_[i] = e;
        i = j;
      }
    }
    slots_[i].key.len = kFree;
    --size_;
    return true;
  }

 private:
  static constexpr std::uint8_t kFree = 0xfe;  // no prefix is that long (at most 128)
  static constexpr std::size_t kMinCapacity = 16;

  std::size_t mask() const { return capacity_ - 1; }
  std::size_t home(const IpPrefix& k) const { return Hash{}(k) & mask(); }
  std::size_t next(std::size_t i) const { return (i + 1) & mask(); }

  void grow() {
    const std::size_t old_capacity = capacity_;
    std::unique_ptr<Entry[]> old = std::move(slots_);
    capacity_ = old_capacity ? old_capacity * 2 : kMinCapacity;
    slots_ = std::make_unique<Entry[]>(capacity_);
    for (std::size_t i = 0; i < capacity_; ++i) slots_[i].key.len = kFree;
    for (std::size_t i = 0; i < old_capacity; ++i) {
      if (old[i].key.len == kFree) continue;
      std::size_t j = home(old[i].key);
      while (slots_[j].key.len != kFree) j = next(j);
      slots_[j] = old[i];
    }
  }

  std::unique_ptr<Entry[]> slots_;
  std::size_t capacity_ = 0;  // a power of two, or 0
  std::size_t size_ = 0;
};

}  // namespace wgcore
