// Time and randomness enter the protocol core only through these interfaces, so tests drive two
// peers in one process with a manual clock and a seeded generator.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>

namespace wgcore {

// Monotonic time since an arbitrary epoch; never goes backwards.
using Time = std::chrono::nanoseconds;
// Wall-clock time since the Unix epoch, used only for TAI64N handshake timestamps and for
// reporting last-handshake times.
using WallTime = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time now() const = 0;
  virtual WallTime wall_now() const = 0;
};

class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
  std::uint32_t u32() {
    std::uint32_t v;
    fill(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&v), sizeof v));
    return v;
  }
};

// The real ones: CLOCK_MONOTONIC / CLOCK_REALTIME and the OS CSPRNG (getrandom).
Clock& system_clock();
Random& system_random();

}  // namespace wgcore
