// Shared helpers for the libFuzzer targets: a hard check that aborts (libFuzzer then saves the
// input as a crash), and a reader that turns the fuzzer's byte string into small typed values
// without ever failing (running out of bytes just yields zeros).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

// A mismatch against a reference or a broken round trip is a bug: abort so the input is kept.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)

namespace wgcore::fuzz {

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : p_(data), left_(size) {}

  bool empty() const { return left_ == 0; }
  std::size_t left() const { return left_; }
  std::uint8_t u8() {
    if (left_ == 0) return 0;
    --left_;
    return *p_++;
  }
  std::uint16_t u16() { return std::uint16_t(u8() | u8() << 8); }
  std::uint32_t u32() { return std::uint32_t(u16()) | std::uint32_t(u16()) << 16; }
  // Up to n bytes (fewer at the end of the input).
  std::span<const std::uint8_t> bytes(std::size_t n) {
    if (n > left_) n = left_;
    std::span<const std::uint8_t> s(p_, n);
    p_ += n;
    left_ -= n;
    return s;
  }
  std::span<const std::uint8_t> rest() { return bytes(left_); }

 private:
  const std::uint8_t* p_;
  std::size_t left_;
};

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace wgcore::fuzz
