// Fuzz target: bytes as zebra's FPM client (dplane_fpm_nl) could send them on the TCP
// connection frr-wgd accepts. The first input byte picks how the stream is cut into feed()
// calls; the rest is the stream. None may crash or read out of bounds, the buffer stays within
// one frame, and the cut must not matter: the stream fed whole decodes to the same updates and
// the same final status. Every update must print.
#include <vector>

#include "fuzz_common.hpp"
#include "routing/route_feed.hpp"

using namespace wgcore::routing::feed;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  wgcore::fuzz::Reader in(data, size);
  const std::size_t chunk = 1 + in.u8() % 61;
  const auto stream = in.rest();

  FpmDecoder whole;
  std::vector<RouteUpdate> whole_out;
  wgcore::Status whole_st = whole.feed(stream, whole_out);

  FpmDecoder cut;
  std::vector<RouteUpdate> cut_out;
  bool cut_broken = false;
  for (std::size_t off = 0; off < stream.size(); off += chunk) {
    auto st = cut.feed(stream.subspan(off, std::min(chunk, stream.size() - off)), cut_out);
    FUZZ_CHECK(cut.buffered() <= FpmDecoder::kMaxFrame);
    if (!st && st.error().code == EPROTO) cut_broken = true;
  }
  FUZZ_CHECK(cut_broken == (!whole_st && whole_st.error().code == EPROTO));
  FUZZ_CHECK(cut_out == whole_out);
  FUZZ_CHECK(cut.state().route_count() == whole.state().route_count());
  FUZZ_CHECK(cut.state().nexthop_count() == whole.state().nexthop_count());
  for (const auto& u : whole_out) {
    FUZZ_CHECK(u.prefix.len <= u.prefix.addr.bits());
    FUZZ_CHECK(!u.to_string().empty());
  }
  whole.reset();
  FUZZ_CHECK(whole.buffered() == 0 && whole.state().route_count() == 0);
  return 0;
}
