#include "support/text.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>

namespace wgcore::text {
namespace {

// The slow reference: arbitrary-precision by string comparison.
std::optional<std::uint64_t> slow_decimal(const std::string& s, std::uint64_t max) {
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  std::string digits = s.substr(std::min(s.find_first_not_of('0'), s.size() - 1));
  std::string m = std::to_string(max);
  if (digits.size() > m.size() || (digits.size() == m.size() && digits > m)) return std::nullopt;
  if (s.size() > 20) return std::nullopt;
  return std::stoull(digits);
}

TEST(Text, ParseDecimalAgreesWithASlowReference) {
  std::mt19937_64 rng(7);
  const std::uint64_t maxes[] = {0, 7, 9, 10, 255, 65535, 0xffffffffu,
                                 std::numeric_limits<std::uint64_t>::max()};
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    int len = int(rng() % 22);
    for (int j = 0; j < len; ++j) s += "0123456789x-"[rng() % (j == 0 ? 12 : 10)];
    for (auto max : maxes) EXPECT_EQ(parse_decimal(s, max), slow_decimal(s, max)) << s << " max " << max;
  }
  EXPECT_EQ(parse_decimal("18446744073709551615", std::numeric_limits<std::uint64_t>::max()),
            std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(parse_decimal("18446744073709551616", std::numeric_limits<std::uint64_t>::max()),
            std::nullopt);
  EXPECT_EQ(parse_decimal("8", 7), std::nullopt);
  EXPECT_EQ(parse_decimal("7", 7), 7u);
}

TEST(Text, WordsTrimAndCase) {
  EXPECT_EQ(split_words(" 10.0.0.1/24,, fd00::1/64\t1.1.1.1 "),
            (std::vector<std::string>{"10.0.0.1/24", "fd00::1/64", "1.1.1.1"}));
  EXPECT_TRUE(split_words(" , ").empty());
  EXPECT_EQ(trim("  a b \n"), "a b");
  EXPECT_EQ(strip_spaces(" Public Key = x "), "PublicKey=x");
  EXPECT_TRUE(iequals("AllowedIPs", "allowedips"));
  EXPECT_FALSE(iequals("AllowedIP", "allowedips"));
}

}  // namespace
}  // namespace wgcore::text
