// mac1/mac2 and cookie replies (paper 5.4.4, 5.4.7). The checker is the device's side (verifies
// macs on what arrives, makes cookies under load); the maker is each peer's side (adds macs to
// what we send, keeps the last cookie the peer gave us).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "core/environment.hpp"
#include "core/messages.hpp"
#include "core/optional_time.hpp"
#include "wgcore/ip.hpp"
#include "wgcore/key.hpp"

namespace wgcore {

using Mac = std::array<std::uint8_t, proto::kMacLen>;

enum class MacState : std::uint8_t {
  kInvalidMac,             // mac1 wrong: drop silently
  kValidMacButNoCookie,    // mac1 right, mac2 absent or wrong
  kValidMacWithCookie,     // both right
};
const char* to_string(MacState s);

class CookieChecker {
 public:
  // Derives the mac1 and cookie keys from our public key; call on identity change.
  void init(const Key& local_public);
  bool ready() const { return ready_; }

  // Checks mac1 and, when check_cookie (we are under load), mac2 against the cookie for `src`.
  // `msg` is a whole handshake initiation or response.
  MacState validate(std::span<const std::uint8_t> msg, const Endpoint& src, bool check_cookie,
                    Time now, Random& rng);

  // Builds a cookie reply to `msg` (initiation or response) that arrived from `src`.
  void create_reply(proto::MessageCookieReply& out, std::span<const std::uint8_t> msg,
                    std::uint32_t receiver_index, const Endpoint& src, Time now, Random& rng);

 private:
  void make_cookie(std::uint8_t out[proto::kCookieLen], const Endpoint& src, Time now, Random& rng);

  Key mac1_key_;
  Key cookie_key_;
  Key secret_;
  std::optional<Time> secret_birth_;
  bool ready_ = false;
};

class CookieMaker {
 public:
  // The peer's public key, which must outlive the maker (a Peer's own, which never changes).
  // The two keys derived from it (mac1's and the cookie reply's) are derived again per message
  // instead of kept: one BLAKE2s per handshake message sent or cookie reply taken, against 64
  // bytes in every idle peer (docs/performance-microbench.md).
  void init(const Key& remote_public);
  void init(const Key&&) = delete;  // a temporary would not outlive the maker

  // Writes mac1 (always) and mac2 (when we hold a fresh cookie) into a handshake message we are
  // about to send, and remembers mac1 to authenticate a cookie reply to it.
  void add_macs(std::span<std::uint8_t> msg, Time now);

  // Decrypts a cookie reply addressed to the last message we sent; false if it does not verify.
  bool consume_reply(const proto::MessageCookieReply& reply, Time now);

  bool has_valid_cookie(Time now) const;

 private:
  const Key* remote_public_ = nullptr;
  std::array<std::uint8_t, proto::kCookieLen> cookie_{};
  OptionalTime cookie_birth_;
  Mac last_mac1_sent_{};
  bool have_sent_mac1_ = false;
};

}  // namespace wgcore
