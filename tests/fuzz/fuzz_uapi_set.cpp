// Fuzz target: the body of a UAPI `set=1` request, which any local user with access to the
// socket can send. parse_set must never crash, and an update it accepts must survive
// format_set -> parse_set unchanged (the property uapi_client relies on), byte-stable too.
#include <string>

#include "fuzz_common.hpp"
#include "uapi/uapi_text.hpp"

using namespace wgcore;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto r = uapi::parse_set(fuzz::as_text(data, size));
  if (!r.ok()) {
    FUZZ_CHECK(r.error().code == uapi::kErrProtocol || r.error().code == uapi::kErrInvalid);
    FUZZ_CHECK(!r.error().message.empty());
    return 0;
  }
  const std::string text = uapi::format_set(*r);
  auto again = uapi::parse_set(text);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*r == *again);
  FUZZ_CHECK(uapi::format_set(*again) == text);
  return 0;
}
