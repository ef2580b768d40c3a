// A minimal streaming JSON writer for the CLI's --json output (objects, arrays, strings with
// escaping, integers, booleans). Commas are tracked per nesting level.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wgcore {

class JsonWriter {
 public:
  JsonWriter& begin_object();
  JsonWriter& end_object();
  JsonWriter& begin_array();
  JsonWriter& end_array();
  JsonWriter& key(std::string_view k);
  JsonWriter& value(std::string_view s);
  JsonWriter& value(const char* s) { return value(std::string_view(s)); }
  JsonWriter& value(std::int64_t n);
  JsonWriter& value(std::uint64_t n);
  JsonWriter& value(int n) { return value(std::int64_t(n)); }
  JsonWriter& value(unsigned n) { return value(std::uint64_t(n)); }
  JsonWriter& value(bool b);
  JsonWriter& null();
  const std::string& str() const { return out_; }

 private:
  void separate();
  std::string out_;
  std::vector<bool> first_{true};
  bool after_key_ = false;
};

std::string json_escape(std::string_view s);

}  // namespace wgcore
