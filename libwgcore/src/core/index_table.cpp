// IndexMap: linear probing over packed 64-bit slots, growth by doubling, backward-shift deletion.
// The home slot comes from a Fibonacci hash, so even a poor random source (or a test's
// sequential indices) spreads over the table.
#include "core/index_table.hpp"

namespace wgcore {
namespace {

constexpr std::uint64_t kFibonacci = 0x9e3779b97f4a7c15ULL;

inline std::uint64_t make_slot(std::uint32_t index, std::uint32_t handle) noexcept {
  return (std::uint64_t(handle) + 1) << 32 | index;
}
inline std::uint32_t slot_index(std::uint64_t s) noexcept { return std::uint32_t(s); }
inline std::uint32_t slot_handle(std::uint64_t s) noexcept { return std::uint32_t((s >> 32) - 1); }

}  // namespace

std::size_t IndexMap::home(std::uint32_t index) const noexcept {
  return std::size_t((std::uint64_t(index) * kFibonacci) >> shift_);
}

std::uint32_t IndexMap::find(std::uint32_t index) const noexcept {
  if (slots_.empty()) return kNone;
  for (std::size_t i = home(index);; i = (i + 1) & mask_) {
    const std::uint64_t s = slots_[i];
    if (s == 0) return kNone;  // load <= 1/2 guarantees an empty slot ends every probe
    if (slot_index(s) == index) return slot_handle(s);
  }
}

void IndexMap::reserve_one_more() {
  if ((size_ + 1) * 2 > slots_.size())
    rehash(slots_.empty() ? kMinCapacity : slots_.size() * 2);
}

void IndexMap::rehash(std::size_t new_capacity) {
  std::vector<std::uint64_t> old(new_capacity, 0);  // may throw; nothing changed yet
  old.swap(slots_);
  mask_ = new_capacity - 1;
  shift_ = 64;
  for (std::size_t c = new_capacity; c > 1; c >>= 1) --shift_;
  for (const std::uint64_t s : old) {
    if (s == 0) continue;
    std::size_t i = home(slot_index(s));
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void IndexMap::insert(std::uint32_t index, std::uint32_t handle) noexcept {
  std::size_t i = home(index);
  while (slots_[i] != 0) i = (i + 1) & mask_;
  slots_[i] = make_slot(index, handle);
  ++size_;
}

std::uint32_t IndexMap::erase(std::uint32_t index) noexcept {
  if (slots_.empty()) return kNone;
  std::size_t hole = home(index);
  for (;; hole = (hole + 1) & mask_) {
    const std::uint64_t s = slots_[hole];
    if (s == 0) return kNone;
    if (slot_index(s) == index) break;
  }
  const std::uint32_t handle = slot_handle(slots_[hole]);
  // Pull later members of the cluster back into the hole when their home slot does not lie
  // cyclically in (hole, j]; otherwise a probe for them would stop early at the hole.
  for (std::size_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
    const std::uint64_t s = slots_[j];
    if (s == 0) break;
    const std::size_t h = home(slot_index(s));
    const bool home_in_between = ((j - h) & mask_) < ((j - hole) & mask_);
    if (!home_in_between) {
      slots_[hole] = s;
      hole = j;
    }
  }
  slots_[hole] = 0;
  --size_;
  return handle;
}

void IndexMap::clear() noexcept {
  for (auto& s : slots_) s = 0;
  size_ = 0;
}

}  // namespace wgcore
