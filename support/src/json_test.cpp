// The JSON writer's output must parse as JSON with the right structure and escapes.
#include "support/json.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

namespace wgcore {
namespace {

TEST(Json, NestedStructureWithCommas) {
  JsonWriter w;
  w.begin_object().key("a").value(1).key("b").begin_array().value("x").value(true).null().end_array();
  w.key("c").begin_object().end_object().end_object();
  EXPECT_EQ(w.str(), R"({"a":1,"b":["x",true,null],"c":{}})");
}

TEST(Json, EscapesControlAndQuote) {
  EXPECT_EQ(json_escape("a\"b\\c\n\x01"), "a\\\"b\\\\c\\n\\u0001");
  JsonWriter w;
  w.begin_array().value(std::uint64_t(18446744073709551615ULL)).value(std::int64_t(-5)).end_array();
  EXPECT_EQ(w.str(), "[18446744073709551615,-5]");
}

// The slow reference: decode code points the way the Unicode standard defines UTF-8 (lead byte
// gives the length, continuations are 10xxxxxx, then no overlong form, no surrogate, nothing
// above U+10FFFF); a valid sequence is kept, every other byte becomes \ufffd.
std::string reference_escape_high(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out += json_escape(s.substr(i, 1));
      ++i;
      continue;
    }
    std::size_t len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    std::uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
    bool ok = len != 0 && i + len <= s.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      ok = (d & 0xc0) == 0x80;
      cp = cp << 6 | (d & 0x3f);
    }
    const std::uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    ok = ok && cp >= min[len] && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    if (ok) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  return out;
}

// Any bytes at all (interface and peer names may hold them): the output is valid UTF-8 JSON text,
// the same as the reference's, for every string of one and two bytes and random longer ones.
TEST(Json, AnyByteStringGivesValidUtf8) {
  for (int a = 0; a < 256; ++a) {
    const std::string one(1, char(a));
    EXPECT_EQ(json_escape(one), reference_escape_high(one)) << a;
    for (int b = 0; b < 256; ++b) {
      const std::string two{char(a), char(b)};
      ASSERT_EQ(json_escape(two), reference_escape_high(two)) << a << " " << b;
    }
  }
  std::mt19937 rng(5);
  for (int i = 0; i < 200000; ++i) {
    std::string s(1 + rng() % 8, '\0');
    for (auto& c : s) c = char(rng() % 4 == 0 ? rng() % 256 : 0x80 + rng() % 0x78);  // mostly high bytes
    ASSERT_EQ(json_escape(s), reference_escape_high(s));
  }
  EXPECT_EQ(json_escape("wg\xffx"), "wg\\ufffdx");
  EXPECT_EQ(json_escape("caf\xc3\xa9 \xf0\x9f\x94\x91"), "caf\xc3\xa9 \xf0\x9f\x94\x91") << "valid UTF-8 stays";
  EXPECT_EQ(json_escape("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd") << "a surrogate is not UTF-8";
  EXPECT_EQ(json_escape("\xc0\xaf"), "\\ufffd\\ufffd") << "an overlong '/'";
}

}  // namespace
}  // namespace wgcore
