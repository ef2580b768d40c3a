// The JSON writer's output must parse as JSON with the right structure and escapes.
#include "common/json.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace wgcore
