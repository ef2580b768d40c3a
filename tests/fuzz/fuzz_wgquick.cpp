// Fuzz target: wg-quick .conf text (files users copy from anywhere, and NM imports). The parser
// must never crash; an accepted file must print in the canonical layout to text that parses
// back to the same configuration (compared through that canonical text), and its DeviceUpdate
// must survive the UAPI text round trip.
#include <string>

#include "wgcore/wgquick.hpp"
#include "fuzz_common.hpp"
#include "uapi/uapi_text.hpp"

using namespace wgcore;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto cfg = config::parse_wgquick(fuzz::as_text(data, size), "fuzz.conf");
  if (!cfg.ok()) {
    FUZZ_CHECK(!cfg.error().message.empty());
    return 0;
  }
  const std::string text = config::format_wgquick(*cfg);
  auto again = config::parse_wgquick(text, "canonical.conf");
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(config::format_wgquick(*again) == text);
  auto update = config::to_device_update(*cfg);
  auto update2 = config::to_device_update(*again);
  FUZZ_CHECK(update.ok() == update2.ok());
  if (update.ok()) {
    FUZZ_CHECK(*update == *update2);
    auto wire = uapi::parse_set(uapi::format_set(*update));
    FUZZ_CHECK(wire.ok() && *wire == *update);
  }
  return 0;
}
