// std::optional<Time> in half the space, for fields that every idle peer carries: Time::min()
// stands for "none" (no deadline or timestamp is ever that far in the past). Only the part of
// optional's interface the core uses; converts to and from std::optional<Time>.
#pragma once

#include <optional>

#include "core/environment.hpp"

namespace wgcore {

class OptionalTime {
 public:
  OptionalTime() = default;
  OptionalTime(std::nullopt_t) noexcept {}                                    // NOLINT: like optional
  OptionalTime(Time t) noexcept : t_(t) {}                                    // NOLINT
  OptionalTime(const std::optional<Time>& t) noexcept : t_(t ? *t : kNone) {}  // NOLINT
  operator std::optional<Time>() const noexcept {                            // NOLINT
    return has_value() ? std::optional<Time>(t_) : std::nullopt;
  }

  bool has_value() const noexcept { return t_ != kNone; }
  explicit operator bool() const noexcept { return has_value(); }
  Time operator*() const noexcept { return t_; }
  void reset() noexcept { t_ = kNone; }

  friend bool operator==(const OptionalTime& a, Time b) noexcept { return a.t_ == b; }
  friend bool operator==(const OptionalTime& a, const OptionalTime& b) noexcept {
    return a.t_ == b.t_;
  }

 private:
  static constexpr Time kNone = Time::min();
  Time t_ = kNone;
};

}  // namespace wgcore
