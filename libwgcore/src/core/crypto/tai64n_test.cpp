// Tests for TAI64N handshake timestamps: the external TAI64 label, big-endian layout, the
// kernel's nanosecond whitening (multiples of 2^24 ns) and the strict "newer" comparison.
#include "core/crypto/tai64n.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>

#include "wgcore/key.hpp"

namespace wgcore::crypto {
namespace {

using std::chrono::nanoseconds;
using std::chrono::seconds;

std::string hex(const Tai64n& t) { return hex_encode(t); }

constexpr std::int64_t kWhiten = std::int64_t{1} << 24;  // rounddown_pow_of_two(1e9 / 50)

TEST(Tai64n, UnixEpochIsTwoToTheSixtyTwoPlusTen) {
  EXPECT_EQ(hex(tai64n(nanoseconds(0))), "400000000000000a00000000");
}

TEST(Tai64n, KnownTimeLayout) {
  // 1700000000 s = 0x6553f100; 123456789 ns rounds down to 7 * 2^24 = 0x07000000.
  EXPECT_EQ(hex(tai64n(seconds(1'700'000'000) + nanoseconds(123'456'789))),
            "400000006553f10a07000000");
}

TEST(Tai64n, LargestNanosecondValue) {
  // 999999999 ns rounds down to 59 * 2^24 = 989855744 = 0x3b000000.
  EXPECT_EQ(hex(tai64n(seconds(1) + nanoseconds(999'999'999))), "400000000000000b3b000000");
}

TEST(Tai64n, NanosecondsAreWhitenedToTwoToTheTwentyFour) {
  const auto base = seconds(1'600'000'000);
  // Everything inside one 2^24 ns window encodes identically...
  const Tai64n first = tai64n(base + nanoseconds(5 * kWhiten));
  EXPECT_EQ(tai64n(base + nanoseconds(5 * kWhiten + 1)), first);
  EXPECT_EQ(tai64n(base + nanoseconds(6 * kWhiten - 1)), first);
  // ...and the next window is strictly newer.
  const Tai64n next = tai64n(base + nanoseconds(6 * kWhiten));
  EXPECT_TRUE(tai64n_after(next, first));
  EXPECT_FALSE(tai64n_after(first, next));
  EXPECT_EQ(next[8], 0x06);
  EXPECT_EQ(next[9], 0x00);
  EXPECT_EQ(next[10], 0x00);
  EXPECT_EQ(next[11], 0x00);
}

TEST(Tai64n, WhiteningIsCoarserThanTheInitiationRate) {
  // Two initiations the rate limiter allows (>= 20 ms apart) never share a timestamp.
  std::mt19937_64 rng(30);
  for (int i = 0; i < 1000; ++i) {
    const auto t = nanoseconds(static_cast<std::int64_t>(rng() % (std::uint64_t{1} << 60)));
    EXPECT_TRUE(tai64n_after(tai64n(t + std::chrono::milliseconds(20)), tai64n(t)));
  }
}

TEST(Tai64n, ByteOrderMatchesTimeOrder) {
  // Randomized against the obvious reference: compare whitened (seconds, nanoseconds) pairs.
  std::mt19937_64 rng(31);
  for (int i = 0; i < 5000; ++i) {
    const std::int64_t a = static_cast<std::int64_t>(rng() % (std::uint64_t{1} << 62));
    // Often close to a, to exercise the nanosecond field.
    const std::int64_t b =
        (i % 2) ? a + static_cast<std::int64_t>(rng() % 3'000'000'000) - 1'500'000'000
                : static_cast<std::int64_t>(rng() % (std::uint64_t{1} << 62));
    auto key = [](std::int64_t ns) {
      return std::pair(ns / 1'000'000'000, (ns % 1'000'000'000) / kWhiten);
    };
    const bool want = key(a) > key(b);
    EXPECT_EQ(tai64n_after(tai64n(nanoseconds(a)), tai64n(nanoseconds(b))), want) << a << " " << b;
  }
}

TEST(Tai64n, AfterIsStrictAndSecondsDominate) {
  const Tai64n t = tai64n(seconds(100) + nanoseconds(900'000'000));
  EXPECT_FALSE(tai64n_after(t, t));
  const Tai64n later_second = tai64n(seconds(101));
  EXPECT_TRUE(tai64n_after(later_second, t));  // smaller nanoseconds, larger seconds
  EXPECT_FALSE(tai64n_after(t, later_second));
}

TEST(Tai64n, TimesBeforeTheEpochStayOrdered) {
  // A badly set clock must still produce well-formed, ordered labels.
  const Tai64n before = tai64n(nanoseconds(-1));
  EXPECT_EQ(hex(before), "40000000000000093b000000");
  EXPECT_TRUE(tai64n_after(tai64n(nanoseconds(0)), before));
  EXPECT_TRUE(tai64n_after(before, tai64n(seconds(-2))));
}

}  // namespace
}  // namespace wgcore::crypto
