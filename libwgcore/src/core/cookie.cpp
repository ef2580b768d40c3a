// Cookie mechanism. The cookie is MAC(secret, source IP || source port) with a secret that changes
// every two minutes; it travels encrypted with XChaCha20-Poly1305 under a key only the holder of
// our public key can derive, bound to the mac1 of the message it answers.
#include "core/cookie.hpp"

#include <cstring>

#include "core/crypto/aead.hpp"
#include "core/crypto/blake2s.hpp"

namespace wgcore {
namespace {

crypto::Bytes label(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// HASH(label || public key): mac1's key (kLabelMac1) and the cookie reply's (kLabelCookie), the
// same for the checker (our key) and the maker (the peer's).
void derive_key(Key& out, std::string_view label_text, const Key& public_key) {
  crypto::blake2s(out.span(), {label(label_text), public_key.span()});
}

// Offsets of mac1 and mac2 for a handshake message of the given length.
std::size_t mac1_offset(std::size_t len) {
  return len == proto::kInitiationLen ? proto::kInitiationMac1Offset : proto::kResponseMac1Offset;
}

}  // namespace

const char* to_string(MacState s) {
  switch (s) {
    case MacState::kInvalidMac: return "invalid-mac";
    case MacState::kValidMacButNoCookie: return "valid-mac-no-cookie";
    case MacState::kValidMacWithCookie: return "valid-mac-with-cookie";
  }
  return "?";
}

void CookieChecker::init(const Key& local_public) {
  derive_key(mac1_key_, proto::kLabelMac1, local_public);
  derive_key(cookie_key_, proto::kLabelCookie, local_public);
  ready_ = true;
}

void CookieChecker::make_cookie(std::uint8_t out[proto::kCookieLen], const Endpoint& src, Time now,
                                Random& rng) {
  if (!secret_birth_ || now - *secret_birth_ >= proto::kCookieSecretMaxAge) {
    rng.fill(secret_.span());
    secret_birth_ = now;
  }
  // Source address then port, both in network byte order, as the kernel feeds them.
  std::uint8_t input[16 + 2];
  std::size_t n = 0;
  if (src.family() == AF_INET) {
    std::memcpy(input, &src.addr.in4.sin_addr, 4);
    std::memcpy(input + 4, &src.addr.in4.sin_port, 2);
    n = 6;
  } else if (src.family() == AF_INET6) {
    std::memcpy(input, &src.addr.in6.sin6_addr, 16);
    std::memcpy(input + 16, &src.addr.in6.sin6_port, 2);
    n = 18;
  }
  crypto::blake2s_mac(std::span<std::uint8_t, proto::kCookieLen>(out, proto::kCookieLen),
                      secret_.span(), {input, n});
}

MacState CookieChecker::validate(std::span<const std::uint8_t> msg, const Endpoint& src,
                                 bool check_cookie, Time now, Random& rng) {
  if (!ready_) return MacState::kInvalidMac;
  std::size_t off = mac1_offset(msg.size());
  Mac computed;
  crypto::blake2s_mac(computed, mac1_key_.span(), msg.first(off));
  if (!ct_equal(computed.data(), msg.data() + off, proto::kMacLen)) return MacState::kInvalidMac;
  if (!check_cookie) return MacState::kValidMacButNoCookie;

  std::uint8_t cookie[proto::kCookieLen];
  make_cookie(cookie, src, now, rng);
  crypto::blake2s_mac(computed, {cookie, sizeof cookie}, msg.first(off + proto::kMacLen));
  secure_zero(cookie, sizeof cookie);
  if (!ct_equal(computed.data(), msg.data() + off + proto::kMacLen, proto::kMacLen))
    return MacState::kValidMacButNoCookie;
  return MacState::kValidMacWithCookie;
}

void CookieChecker::create_reply(proto::MessageCookieReply& out, std::span<const std::uint8_t> msg,
                                 std::uint32_t receiver_index, const Endpoint& src, Time now,
                                 Random& rng) {
  auto* o = reinterpret_cast<std::uint8_t*>(&out);
  proto::store_le32(o, std::uint32_t(proto::MessageType::kCookieReply));
  proto::store_le32(o + offsetof(proto::MessageCookieReply, receiver_index), receiver_index);
  rng.fill(out.nonce);
  std::uint8_t cookie[proto::kCookieLen];
  make_cookie(cookie, src, now, rng);
  std::size_t off = mac1_offset(msg.size());
  crypto::xaead_seal(out.encrypted_cookie, {cookie, sizeof cookie},
                     std::span<const std::uint8_t, proto::kCookieNonceLen>(out.nonce),
                     msg.subspan(off, proto::kMacLen), cookie_key_.span());
  secure_zero(cookie, sizeof cookie);
}

void CookieMaker::init(const Key& remote_public) {
  remote_public_ = &remote_public;
  cookie_birth_.reset();
  have_sent_mac1_ = false;
}

bool CookieMaker::has_valid_cookie(Time now) const {
  // A cookie is good for the secret's lifetime, minus the latency it may have spent in flight.
  return cookie_birth_ &&
         now - *cookie_birth_ < proto::kCookieSecretMaxAge - proto::kCookieSecretLatency;
}

void CookieMaker::add_macs(std::span<std::uint8_t> msg, Time now) {
  std::size_t off = mac1_offset(msg.size());
  Key mac1_key;
  derive_key(mac1_key, proto::kLabelMac1, *remote_public_);
  crypto::blake2s_mac(std::span<std::uint8_t, proto::kMacLen>(msg.data() + off, proto::kMacLen),
                      mac1_key.span(), msg.first(off));
  std::memcpy(last_mac1_sent_.data(), msg.data() + off, proto::kMacLen);
  have_sent_mac1_ = true;
  auto mac2 = std::span<std::uint8_t, proto::kMacLen>(msg.data() + off + proto::kMacLen, proto::kMacLen);
  if (has_valid_cookie(now))
    crypto::blake2s_mac(mac2, cookie_, msg.first(off + proto::kMacLen));
  else
    std::memset(mac2.data(), 0, mac2.size());
}

bool CookieMaker::consume_reply(const proto::MessageCookieReply& reply, Time now) {
  if (!have_sent_mac1_) return false;
  Key cookie_key;
  derive_key(cookie_key, proto::kLabelCookie, *remote_public_);
  std::array<std::uint8_t, proto::kCookieLen> cookie;
  if (!crypto::xaead_open(cookie, reply.encrypted_cookie,
                          std::span<const std::uint8_t, proto::kCookieNonceLen>(reply.nonce),
                          last_mac1_sent_, cookie_key.span()))
    return false;
  cookie_ = cookie;
  secure_zero(cookie.data(), cookie.size());
  cookie_birth_ = now;
  have_sent_mac1_ = false;
  return true;
}

}  // namespace wgcore
