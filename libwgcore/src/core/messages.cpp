// Message classification by type and length, before any cryptography runs.
#include "core/messages.hpp"

namespace wgcore::proto {

MessageType classify(const std::uint8_t* data, std::size_t len) {
  if (len < 4) return MessageType::kInvalid;
  switch (static_cast<MessageType>(load_le32(data))) {
    case MessageType::kHandshakeInitiation:
      return len == kInitiationLen ? MessageType::kHandshakeInitiation : MessageType::kInvalid;
    case MessageType::kHandshakeResponse:
      return len == kResponseLen ? MessageType::kHandshakeResponse : MessageType::kInvalid;
    case MessageType::kCookieReply:
      return len == kCookieReplyLen ? MessageType::kCookieReply : MessageType::kInvalid;
    case MessageType::kData:
      return len >= kDataMinLen ? MessageType::kData : MessageType::kInvalid;
    default:
      return MessageType::kInvalid;
  }
}

}  // namespace wgcore::proto
