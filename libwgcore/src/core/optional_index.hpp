// std::optional<std::uint32_t> in five bytes with an alignment of one, for a field every peer
// carries: placed after a member with tail padding (Peer's [[no_unique_address]] cookie), it
// takes no space of its own (docs/performance-control.md counts every idle byte). Only the part
// of optional's interface the core uses; converts to and from std::optional<std::uint32_t>.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>

namespace wgcore {

class OptionalIndex {
 public:
  OptionalIndex() = default;
  OptionalIndex(std::nullopt_t) noexcept {}                 // NOLINT: like optional
  OptionalIndex(std::uint32_t v) noexcept { set(v); }       // NOLINT
  OptionalIndex(const std::optional<std::uint32_t>& v) noexcept {  // NOLINT
    if (v) set(*v);
  }
  operator std::optional<std::uint32_t>() const noexcept {  // NOLINT
    return has_ ? std::optional<std::uint32_t>(**this) : std::nullopt;
  }

  bool has_value() const noexcept { return has_; }
  explicit operator bool() const noexcept { return has_; }
  std::uint32_t operator*() const noexcept {
    std::uint32_t v;
    std::memcpy(&v, bytes_, sizeof v);
    return v;
  }
  void reset() noexcept {
    has_ = false;
    std::memset(bytes_, 0, sizeof bytes_);
  }

  friend bool operator==(const OptionalIndex& a, const OptionalIndex& b) noexcept {
    return a.has_ == b.has_ && (!a.has_ || *a == *b);
  }

 private:
  void set(std::uint32_t v) noexcept {
    std::memcpy(bytes_, &v, sizeof v);
    has_ = true;
  }
  std::uint8_t bytes_[4]{};
  bool has_ = false;
};

}  // namespace wgcore
