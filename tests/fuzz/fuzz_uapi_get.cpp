// Fuzz target: the answer to a UAPI `get=1`, which uapi_client reads from whatever daemon owns
// the socket. parse_get must never crash, and a state it accepts must print with format_get to
// text that parses back to the same state (format_get's output is what stock `wg` reads).
#include <string>

#include "fuzz_common.hpp"
#include "uapi/uapi_text.hpp"

using namespace wgcore;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = uapi::parse_get(fuzz::as_text(data, size));
  if (!r.ok()) {
    FUZZ_CHECK(!r.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(r->name.empty());
  FUZZ_CHECK(r->public_key.has_value() == r->private_key.has_value());
  const std::string text = uapi::format_get(*r);
  auto again = uapi::parse_get(text);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*r == *again);
  FUZZ_CHECK(uapi::format_get(*again) == text);
  // The server's framing: the same body followed by "errno=0" and the blank line.
  auto framed = uapi::parse_get(text + uapi::format_errno(0));
  FUZZ_CHECK(framed.ok() && *r == *framed);
  return 0;
}
