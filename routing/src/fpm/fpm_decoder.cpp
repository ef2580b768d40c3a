// FPM framing (FRR fpm/fpm.h): {u8 version = 1, u8 type = 1 netlink, u16 length in network
// order including these 4 bytes}, then exactly one netlink message (host order) filling the
// rest. See FpmDecoder in route_feed.hpp for how errors leave the stream.
#include <algorithm>
#include <string>

#include "rtnl_msg.hpp"

namespace wgcore::routing::feed {
namespace {

constexpr std::size_t kFpmHeaderLen = 4;
constexpr std::size_t kNetlinkHeaderLen = 16;  // sizeof(struct nlmsghdr)
constexpr std::uint8_t kFpmVersion = 1;
constexpr std::uint8_t kFpmTypeNetlink = 1;
constexpr std::uint8_t kFpmTypeProtobuf = 2;

// Checks a complete frame's header; nullopt = fine. Errors are EPROTO: the stream is lost.
std::optional<Error> check_header(const std::uint8_t* h, std::size_t frame_len) {
  if (h[0] != kFpmVersion)
    return make_error(EPROTO, "fpm: unsupported version " + std::to_string(h[0]));
  if (h[1] == kFpmTypeProtobuf)
    return make_error(EPROTO, "fpm: protobuf messages are not supported (use zebra's "
                              "dplane_fpm_nl module, which sends netlink)");
  if (h[1] != kFpmTypeNetlink)
    return make_error(EPROTO, "fpm: unknown message type " + std::to_string(h[1]));
  if (frame_len < kFpmHeaderLen)
    return make_error(EPROTO, "fpm: frame length " + std::to_string(frame_len) + " < 4");
  return std::nullopt;
}

// One frame's netlink messages. dplane_fpm_nl usually sends one, but a route update goes out
// as RTM_DELROUTE + RTM_NEWROUTE in one frame (seen with FRR 8.4), so every message in the frame
// is decoded. A length that leaves the frame is EPROTO (the stream is out of step); a bad
// message is EBADMSG, skipped, and the frame's other messages are still decoded.
Status decode_frame(rtnl::Bytes body, detail::RouteState& state, std::vector<RouteUpdate>& out) {
  if (body.empty()) return make_error(EPROTO, "fpm: frame without a netlink message");
  std::optional<Error> skipped;
  while (!body.empty()) {
    auto h = rtnl::read_header(body);
    if (!h || h->len < kNetlinkHeaderLen || h->len > body.size())
      return make_error(EPROTO, "fpm: netlink message length " +
                                    (h ? std::to_string(h->len) : std::string("(none)")) +
                                    " does not fit the " + std::to_string(body.size()) +
                                    " bytes left in its frame");
    if (Status st = state.apply(body.first(h->len), out); !st && !skipped) skipped = st.error();
    // NLMSG_ALIGN: messages in one buffer start on 4-byte boundaries.
    body = body.subspan(std::min<std::size_t>((h->len + 3u) & ~std::size_t{3}, body.size()));
  }
  if (skipped) return *skipped;
  return {};
}

}  // namespace

Status FpmDecoder::feed(std::span<const std::uint8_t> bytes, std::vector<RouteUpdate>& out) {
  if (broken_) return *broken_;
  std::optional<Error> skipped;  // the first EBADMSG, reported after the rest is decoded
  // Frames come from buffer_ first (a frame split across feed() calls), then straight from
  // `bytes`, so the usual case copies nothing.
  while (true) {
    std::span<const std::uint8_t> frame;
    if (!buffer_.empty()) {
      auto top_up = [&](std::size_t want) {
        std::size_t take = std::min(bytes.size(), want - buffer_.size());
        buffer_.insert(buffer_.end(), bytes.begin(), bytes.begin() + take);
        bytes = bytes.subspan(take);
        return buffer_.size() == want;
      };
      if (buffer_.size() < kFpmHeaderLen && !top_up(kFpmHeaderLen)) break;
      std::size_t len = static_cast<std::size_t>(buffer_[2]) << 8 | buffer_[3];
      if (auto e = check_header(buffer_.data(), len)) return *(broken_ = *e);
      if (!top_up(len)) break;
      frame = buffer_;
    } else {
      if (bytes.empty()) break;
      if (bytes.size() < kFpmHeaderLen) {
        buffer_.assign(bytes.begin(), bytes.end());
        break;
      }
      std::size_t len = static_cast<std::size_t>(bytes[2]) << 8 | bytes[3];
      if (auto e = check_header(bytes.data(), len)) return *(broken_ = *e);
      if (bytes.size() < len) {
        buffer_.assign(bytes.begin(), bytes.end());
        break;
      }
      frame = bytes.first(len);
      bytes = bytes.subspan(len);
    }
    Status st = decode_frame(frame.subspan(kFpmHeaderLen), state_, out);
    buffer_.clear();  // `frame` may point into it: done with it only now
    if (!st) {
      if (st.error().code == EPROTO) return *(broken_ = st.error());
      if (!skipped) skipped = st.error();
    }
  }
  if (skipped) return *skipped;
  return {};
}

void FpmDecoder::reset() {
  buffer_.clear();
  state_.clear();
  broken_.reset();
}

}  // namespace wgcore::routing::feed
