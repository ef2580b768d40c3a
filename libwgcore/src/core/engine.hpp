// The protocol engine of one WireGuard device: identity, peers, receiver indices, AllowedIPs,
// cookies and timers. It does no I/O and reads time and randomness only through the injected
// Clock and Random; what it wants sent or delivered goes to an EngineSink. Not thread-safe: the
// datapath serializes calls (one event loop, or a lock).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "core/allowedips.hpp"
#include "core/cookie.hpp"
#include "core/counters.hpp"
#include "core/index_table.hpp"
#include "core/noise.hpp"
#include "core/peer.hpp"
#include "core/ratelimiter.hpp"

namespace wgcore {

// Protocol events worth a log line (the datapath logs them at verbose level, like wireguard-go).
enum class EngineEvent : std::uint8_t {
  kInitiationSent,
  kInitiationReceived,
  kResponseSent,
  kResponseReceived,
  kCookieReplySent,
  kCookieReplyReceived,
  kSessionDerived,
  kKeepaliveSent,
  kHandshakeRetry,        // no response within REKEY_TIMEOUT
  kHandshakeGaveUp,       // MAX_TIMER_HANDSHAKES exceeded
  kPeerWentQuiet,         // new_handshake timer: data sent, nothing heard back
  kKeysZeroed,
  kEndpointChanged,       // an authenticated packet came from a new address: the peer roamed
  kSessionExpired,        // REJECT_AFTER_TIME since the newest session: no keypair carries data
};
const char* to_string(EngineEvent e);

// A data message's AEAD seal, to run later on any thread (EngineSink::seal_later): the padded
// plaintext at body becomes ciphertext and tag in place.
struct SealJob {
  std::uint8_t* body = nullptr;
  std::size_t plain_len = 0;  // padded; the tag's 16 bytes follow
  std::uint64_t counter = 0;
  // Holds the keypair, not a copy of its key: the rotation may drop it before the job runs, and
  // then its keys are wiped when the last job lets go (within the same turn).
  std::shared_ptr<const Keypair> keypair;
  void run() noexcept;
};

// Ends a batch of SealJobs once they ran (on any threads), called on the engine's thread (it
// reads what the engine wrote, Keypair::dropped): lets go of their keypairs and, when
// one of them was dropped before its jobs ran (a rotation or removal within the same turn),
// forgets the cached keys again, since sealing put that key back into the contexts of the
// threads that ran them (this one's now, the others' by the key epoch, key_cache.hpp).
void release_seal_jobs(std::vector<SealJob>& jobs) noexcept;

// A received data message between Engine::begin_data and Engine::finish_data: open() decrypts it
// in place and may run on any thread, as long as no other engine call runs meanwhile (it reads
// the keypair's key, which only the engine's own calls can free).
struct DataJob {
  std::span<std::uint8_t> msg;
  Peer* peer = nullptr;
  Keypair* keypair = nullptr;
  std::uint64_t counter = 0;
  bool opened = false;
  std::uint8_t outer_ds = 0;  // the DS field the datagram's IP header arrived with (core/ecn.hpp)
  void open() noexcept;
};

class EngineSink {
 public:
  virtual ~EngineSink() = default;
  // A datagram for the peer's current endpoint (leaving from peer.local_source when known).
  virtual void send_to_peer(Peer& peer, std::span<const std::uint8_t> datagram) = 0;
  // Optional zero-copy path for data packets: a writable buffer of at least `size` bytes that
  // becomes a datagram to the peer once the engine has filled it and called commit_to_peer
  // (before asking for another). An empty span (the default) makes the engine build the
  // datagram in its own scratch and call send_to_peer.
  virtual std::span<std::uint8_t> datagram_buffer(Peer& peer, std::size_t size) {
    (void)peer;
    (void)size;
    return {};
  }
  // With datagram_buffer: lets the datapath run the message's AEAD seal itself (on worker
  // threads) before it sends the datagram; false (the default) makes the engine seal it now.
  // Called just before commit_to_peer.
  virtual bool seal_later(Peer& peer, const SealJob& job) {
    (void)peer;
    (void)job;
    return false;
  }
  // `ds`: the DS field for the datagram's outer IP header (core/ecn.hpp: ECN from the inner
  // packet); a datapath that cannot set it ignores it.
  virtual void commit_to_peer(Peer& peer, std::size_t size, std::uint8_t ds) {
    (void)peer;
    (void)size;
    (void)ds;
  }
  // A data message built in the engine's scratch (no datagram_buffer): as send_to_peer, with
  // the outer DS field as for commit_to_peer. The default ignores `ds`.
  virtual void send_data_to_peer(Peer& peer, std::span<const std::uint8_t> datagram, std::uint8_t ds) {
    (void)ds;
    send_to_peer(peer, datagram);
  }
  // A datagram for an address that is not (yet) an authenticated peer: cookie replies.
  virtual void send_to_endpoint(const Endpoint& to, const Endpoint& local,
                                std::span<const std::uint8_t> datagram) = 0;
  // An authenticated, source-checked inner packet for the tunnel interface.
  virtual void deliver(Peer& peer, std::span<const std::uint8_t> inner) = 0;
  // Admission of initiators nobody configured. With admits_unknown() true, an initiation from
  // an unknown static key is verified in full (mac1, its static key, its timestamp, with a
  // throwaway handshake) and then offered to admit(): to accept, the sink adds the peer (through
  // the engine's configuration calls, with its AllowedIPs) and returns true; the engine then
  // answers. Refused, nothing of the initiator stays behind (counted as admission_refused).
  virtual bool admits_unknown() const { return false; }
  virtual bool admit(const Key& initiator, const Endpoint& from) {
    (void)initiator;
    (void)from;
    return false;
  }
  // Something happened that a log may want; `peer` is null for events before a peer is known.
  virtual void on_event(Peer* peer, EngineEvent event) {
    (void)peer;
    (void)event;
  }
};

class Engine {
 public:
  using Index = IndexTable<Peer, Handshake, Keypair>;

  Engine(Clock& clock, Random& rng, EngineSink& sink);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // ---- configuration ----
  // An all-zero or absent key removes the identity. A change re-derives every peer's static-static
  // secret and stops current sessions from sending (new handshakes start on demand), like the kernel.
  void set_private_key(const std::optional<Key>& key);
  const Identity& identity() const { return identity_; }
  // Returns the existing peer for that key if there is one; nullptr for our own public key.
  Peer* add_peer(const Key& public_key);
  Peer* find_peer(const Key& public_key) const;
  void remove_peer(Peer* peer);
  void clear_peers();
  void set_preshared_key(Peer& peer, const std::optional<Key>& psk);
  void set_endpoint(Peer& peer, const Endpoint& endpoint);
  // Turning an interval on sends a keepalive (and so starts a handshake) at once, as the kernel
  // does; a caller applying many peers passes send_now = false and sends them later itself.
  // Returns whether the interval was turned on.
  bool set_persistent_keepalive(Peer& peer, std::uint16_t seconds, bool send_now = true);
  void add_allowed_ip(Peer& peer, const IpPrefix& prefix);
  bool remove_allowed_ip(Peer& peer, const IpPrefix& prefix);
  void clear_allowed_ips(Peer& peer);
  std::vector<IpPrefix> allowed_ips(const Peer& peer) const;
  // Inner MTU, used to cap padding.
  void set_mtu(std::size_t mtu) { mtu_ = mtu; }
  std::size_t peer_count() const { return peers_.size(); }
  // Calls of the configuration methods above so far (clear_peers counts each peer). Tests compare
  // it before and after an update, to prove an update costs the peers and prefixes it names.
  std::uint64_t config_operations() const { return config_ops_; }
  // Peers in the order they were added.
  template <class F>
  void for_each_peer(F&& f) const {
    for (const auto& [id, p] : peers_) f(p);
  }

  // ---- datapath ----
  // An outbound inner IPv4/IPv6 packet from the tunnel, routed to a peer through AllowedIPs.
  void send_packet(std::span<const std::uint8_t> inner);
  // The same for a packet in two pieces (headers built elsewhere, payload in place), so a
  // segmenter need not copy the payload to make it contiguous; `inner` holds the IP header.
  void send_packet(std::span<const std::uint8_t> inner, std::span<const std::uint8_t> tail);
  // An outbound inner packet for a given peer (staged until a session exists).
  void send_to_peer(Peer& peer, std::span<const std::uint8_t> inner);
  void send_to_peer(Peer& peer, std::span<const std::uint8_t> inner, std::span<const std::uint8_t> tail);
  void send_keepalive(Peer& peer);
  // Starts a handshake now unless one was sent less than REKEY_TIMEOUT ago.
  void initiate_handshake(Peer& peer) { send_handshake_initiation(peer, false); }
  // A datagram from the network. `local` is the address it arrived on (may be unset).
  // `under_load` is the datapath's signal that handshakes are queueing up: then mac2 is required.
  // `outer_ds`: the DS field of the datagram's IP header, when the datapath knows it (ECN).
  void receive(std::span<std::uint8_t> datagram, const Endpoint& from, const Endpoint& local,
               bool under_load, std::uint8_t outer_ds = 0);
  // Data messages in three steps, so a datapath can decrypt a batch in parallel: begin_data
  // (finds the keypair; false if the message was dropped and counted; the caller sets
  // job.outer_ds, which it keeps), DataJob::open on any
  // thread, then finish_data in arrival order (replay window, endpoint, timers, AllowedIPs,
  // delivery). Between the first begin_data and the last open no other engine call may run.
  // receive() does the three in a row.
  bool begin_data(std::span<std::uint8_t> msg, DataJob& job);
  void finish_data(DataJob& job, const Endpoint& from, const Endpoint& local);
  // Runs every timer that is due; next_timer() is when to call again.
  void run_timers();
  std::optional<Time> next_timer() const;

  // ---- inspection ----
  const DropCounters& drops() const { return drops_; }
  void count_drop(DropReason r, Peer* peer = nullptr);
  const AllowedIps<Peer>& allowedips() const { return allowedips_; }
  std::size_t index_size() const { return index_.size(); }
  Clock& clock() const { return clock_; }

  // Test hook: lets tests reach REKEY_AFTER_MESSAGES in a few packets.
  void set_rekey_after_messages_for_testing(std::uint64_t n) { rekey_after_messages_ = n; }

 private:
  void send_handshake_initiation(Peer& peer, bool is_retry);
  void send_handshake_response(Peer& peer);
  void send_staged(Peer& peer);
  void encrypt_and_send(Peer& peer, Keypair& kp, std::span<const std::uint8_t> inner,
                        std::span<const std::uint8_t> tail = {});
  void keep_key_fresh_after_send(Peer& peer);
  void keep_key_fresh_after_receive(Peer& peer);
  void handshake_complete(Peer& peer);
  void install_session(Peer& peer, const SessionKeys& keys);
  std::uint32_t register_handshake_index(Peer& peer);
  void clear_handshake(Peer& peer);
  void expire_current_keypairs(Peer& peer);
  void drop_keypairs(std::vector<KeypairPtr>& dropped);
  void update_endpoint(Peer& peer, const Endpoint& from, const Endpoint& local);
  void process_timers(Peer& peer, Time now);
  void reschedule(Peer& peer);
  void unschedule(Peer& peer);
  std::chrono::nanoseconds jitter();

  void receive_handshake(std::span<std::uint8_t> msg, const Endpoint& from, const Endpoint& local,
                         bool under_load);
  void receive_cookie_reply(std::span<const std::uint8_t> msg);
  void receive_data(std::span<std::uint8_t> msg, const Endpoint& from, const Endpoint& local,
                    std::uint8_t outer_ds);

  Clock& clock_;
  Random& rng_;
  EngineSink& sink_;
  Identity identity_;
  CookieChecker checker_;
  RateLimiter ratelimiter_;
  std::map<std::uint64_t, Peer> peers_;  // by id, so in the order they were added
  PeerMap<Peer> by_key_;
  Index index_;
  AllowedIps<Peer> allowedips_;
  std::set<std::pair<Time, std::uint64_t>> schedule_;
  DropCounters drops_;
  std::vector<std::uint8_t> scratch_;
  std::vector<KeypairPtr> dropped_;  // reused, so dropping keypairs does not allocate
  std::uint64_t next_peer_id_ = 1;
  std::uint64_t config_ops_ = 0;
  std::size_t mtu_ = 1420;
  std::uint64_t rekey_after_messages_ = proto::kRekeyAfterMessages;
};

}  // namespace wgcore
