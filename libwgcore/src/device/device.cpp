// The userspace device's event loop: TUN reads become engine sends, UDP datagrams become engine
// receives (handshakes through a bounded queue whose depth is the "under load" signal), and what
// the engine emits is collected into batches flushed at the end of each loop turn.
#include "device/device.hpp"

#include <sys/epoll.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

#include "wgcore/log.hpp"
#include "core/crypto/x25519.hpp"
#include "embed/engine_applier.hpp"

namespace wgcore {
namespace {

// Handshakes above this queue depth turn on cookies (the kernel's MAX_QUEUED_INCOMING_HANDSHAKES/8).
constexpr std::size_t kUnderLoadDepth = proto::kMaxQueuedIncomingHandshakes / 8;
// Handshakes processed per loop turn, so data keeps flowing during a flood.
constexpr std::size_t kHandshakeBudget = 64;
constexpr auto kHousekeepingPeriod = std::chrono::seconds(1);
// Room for jumbo-frame MTUs; offloads (64 KiB super-packets) come with the performance work.
constexpr std::size_t kPayloadCapacity = 9216;
// UDP GRO receive buffers: each holds up to 64 KiB of coalesced datagrams (about 44 full-size
// WireGuard packets), so one recvmmsg of them moves more than a thousand datagrams.
constexpr std::size_t kGroBuffers = 32;
// TUN read buffers with TSO: a 64 KiB super-packet plus its virtio-net header each.
constexpr std::size_t kTsoBuffers = 16;
constexpr std::size_t kTsoBufferBytes = 65536 + 64;
// Bytes one TUN or UDP handler moves before it yields to the other (epoll is level-triggered,
// so it comes back at once). A deep turn queues the other direction's packets behind it: ACKs
// and pings wait while megabytes of bulk data are encrypted, which TCP sees as a long RTT and
// fills with more data (bufferbloat). 256 KiB is about 1 ms at 2 Gbit/s.
constexpr std::size_t kTurnBudgetBytes = 256 * 1024;
// How many 64 KiB buffers one read asks for, so a read stays within the turn budget.
constexpr std::size_t kBigBuffersPerRead = 4;

Endpoint local_endpoint(const io::LocalAddr& l, std::uint16_t port) {
  return l.set ? Endpoint::make(l.ip, port) : Endpoint();
}

}  // namespace

Device::Device(const DeviceOptions& opts)
    : opts_(opts),
      pool_(opts.pool_packets, kPayloadCapacity),
      engine_(clock_, system_random(), *this),
      workers_(opts.crypto_threads, opts.crypto_bytes_per_thread),
      stopped_future_(stopped_promise_.get_future().share()) {}

Result<std::unique_ptr<Device>> Device::create(const DeviceOptions& opts) {
  std::unique_ptr<Device> d(new Device(opts));
  if (auto st = d->start(); !st) return st.error();
  return d;
}

Status Device::start() {
  io::TunOptions tun_opts;
  tun_opts.offloads = opts_.offloads;
  auto tun = io::TunDevice::create(opts_.name, tun_opts);
  if (!tun) return tun.error();
  tun_ = std::move(*tun);
  if (tun_.vnet_hdr()) {
    tun_pool_ = std::make_unique<io::PacketPool>(kTsoBuffers, kTsoBufferBytes);
    tso_scratch_.resize(256);  // headers only: IPv6 40 + TCP 60 at most
  }
  if (auto st = tun_.set_mtu(opts_.mtu); !st) {
    // A daemon run as the owner of a persistent TUN (`ip tuntap add ... user U`) has no
    // CAP_NET_ADMIN: the MTU is then the administrator's, and the housekeeping timer follows it.
    auto current = tun_.mtu();
    if (st.error().code != EPERM || !current) return st;
    opts_.mtu = *current;
  }
  engine_.set_mtu(std::size_t(opts_.mtu));
  auto loop = io::EventLoop::create();
  if (!loop) return loop.error();
  loop_ = std::move(*loop);
  if (opts_.offloads) gro_pool_ = std::make_unique<io::PacketPool>(kGroBuffers, io::kGroBufferBytes);
  udp_.set_offloads(opts_.offloads);
  if (auto st = udp_.bind(0, 0); !st) return st;
  log::verbose("offloads: UDP GSO %s, UDP GRO %s, TUN TSO/checksum %s", udp_.gso() ? "on" : "off",
               udp_.gro() ? "on" : "off", tun_.vnet_hdr() ? "on" : "off");
  // Sized for the largest batches, so the datapath never grows them.
  seals_.reserve(io::PacketBatch::kCapacity);
  rx_jobs_.reserve(kGroBuffers * io::kGroBufferBytes / 1024);
  log::verbose("crypto threads: up to %u", workers_.max_threads());

  if (auto st = loop_->add(tun_.fd(), EPOLLIN, [this](std::uint32_t) { on_tun_readable(); }); !st)
    return st;
  watch_udp(true);
  engine_timer_ = loop_->create_timer([this] { on_timer(); });
  housekeeping_timer_ = loop_->create_timer([this] {
    // wg-quick and NetworkManager set the MTU after we start; padding must follow it.
    if (auto mtu = tun_.mtu()) engine_.set_mtu(std::size_t(*mtu));
    loop_->arm_timer(housekeeping_timer_, loop_->clock().now() + kHousekeepingPeriod);
  });
  loop_->arm_timer(housekeeping_timer_, loop_->clock().now() + kHousekeepingPeriod);

  thread_ = std::thread([this] {
    loop_->run();
    stopped_.store(true);
    stopped_promise_.set_value();
    if (failed_ && opts_.on_failed) opts_.on_failed();
  });
  // Set before anything is posted; the loop's queue orders it before the loop thread reads it.
  loop_thread_id_ = thread_.get_id();
  return {};
}

Device::~Device() {
  stop();
  if (thread_.joinable()) thread_.join();
  if (loop_) {
    watch_udp(false);
    (void)loop_->remove(tun_.fd());
  }
  for (io::Packet* p : handshakes_) pool_.put(p);
  if (lent_) pool_.put(lent_);
}

void Device::stop() {
  if (loop_) loop_->stop();
}

void Device::wait() { stopped_future_.wait(); }

std::uint64_t Device::parallel_crypto_batches() {
  return on_loop([this] { return workers_.parallel_batches(); });
}

Device::Internals Device::internals() {
  return on_loop([this] {
    return Internals{engine_.peer_count(), engine_.index_size(), engine_.allowedips().size(),
                     model_.peer_count(), model_.prefix_count(), engine_.config_operations()};
  });
}

void Device::fail(const char* why) {
  log::verbose("%s: stopping the device", why);
  failed_ = true;  // read by the loop thread itself, after run() returns
  loop_->stop();
}

template <class F>
auto Device::on_loop(F&& fn) -> decltype(fn()) {
  using R = decltype(fn());
  if (std::this_thread::get_id() == loop_thread_id_) return fn();
  auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
  auto fut = task->get_future();
  loop_->post([task] { (*task)(); });
  // If the loop stopped, run on the caller's thread: the loop no longer touches the state.
  while (fut.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
    if (stopped_.load()) {
      (*task)();
      break;
    }
  }
  return fut.get();
}

void Device::watch_udp(bool on) {
  for (int family : {AF_INET, AF_INET6}) {
    int fd = udp_.fd(family);
    if (fd < 0) continue;
    if (on)
      (void)loop_->add(fd, EPOLLIN, [this, family](std::uint32_t) { on_udp_readable(family); });
    else
      (void)loop_->remove(fd);
  }
}

// ---------------------------------------------------------------- datapath

io::Packet* Device::take_packet() { return pool_.get(); }

void Device::on_tun_readable() {
  io::PacketBatch batch;
  io::PacketPool& pool = tun_pool_ ? *tun_pool_ : pool_;
  const std::size_t per_read = tun_pool_ ? kBigBuffersPerRead : batch.slots().size();
  std::size_t bytes = 0;
  for (int round = 0; round < 8 && bytes < kTurnBudgetBytes; ++round) {
    batch.resize(pool.get(batch.slots().first(per_read)));
    if (batch.empty()) break;
    auto r = tun_.read_batch(batch.span());
    clock_.hold();
    for (std::size_t i = 0; i < r.count; ++i) bytes += batch[i]->len();
    for (std::size_t i = 0; i < r.count; ++i) {
      io::Packet* p = batch[i];
      const io::VnetHdr& h = p->vnet;
      if (h.gso_type != io::VnetHdr::kGsoNone) {
        // A TSO super-packet: segment it ourselves, each segment a datagram of its own.
        int n = io::tso_segment(
            p->bytes(), h, tso_scratch_,
            [](void* self, std::span<const std::uint8_t> hdr, std::span<const std::uint8_t> payload) {
              static_cast<Device*>(self)->engine_.send_packet(hdr, payload);
            },
            this);
        if (n < 0) engine_.count_drop(DropReason::kInvalidInnerPacket);
        continue;
      }
      if ((h.flags & io::VnetHdr::kNeedsCsum) && !io::finish_checksum(p->bytes(), h)) {
        engine_.count_drop(DropReason::kInvalidInnerPacket);
        continue;
      }
      engine_.send_packet(p->bytes());
    }
    clock_.release();
    pool.put(batch.span());
    batch.clear();
    if (r.error && r.error != EAGAIN && r.error != EINTR) {
      // EBADFD/EIO: the interface was deleted under us (`ip link del`, wg-quick down).
      fail("tun read failed");
      break;
    }
    if (r.count == 0) break;
    flush_udp();
  }
  finish_turn();
}

bool Device::under_load() {
  // Stays in cookie mode for a second after the queue drains, like the kernel.
  return load_.update(handshakes_.size() >= kUnderLoadDepth, loop_->clock().now());
}

void Device::on_datagram(io::Packet* p, std::span<std::uint8_t> datagram, bool own_buffer) {
  auto type = proto::classify(datagram.data(), datagram.size());
  bool handshake = type == proto::MessageType::kHandshakeInitiation ||
                   type == proto::MessageType::kHandshakeResponse;
  if (type == proto::MessageType::kData) {
    // Decrypted with the rest of the round's data (finish_received), possibly in parallel.
    RxJob& j = rx_jobs_.emplace_back();
    j.job.outer_ds = p->tos;  // for RFC 6040 at delivery (core/ecn.hpp)
    if (!engine_.begin_data(datagram, j.job)) {
      rx_jobs_.pop_back();
      return;
    }
    j.from = p->remote;
    j.local = local_endpoint(p->local, udp_.local_port());
    j.sojourn = rx_sojourn_;
    j.backlog = rx_backlog_;
    rx_job_bytes_ += datagram.size();
    return;
  }
  if (!handshake) {
    engine_.receive(datagram, p->remote, local_endpoint(p->local, udp_.local_port()), false);
    return;
  }
  if (handshakes_.size() >= proto::kMaxQueuedIncomingHandshakes) {
    engine_.count_drop(DropReason::kRateLimited);
    return;
  }
  // Queued for later: a datagram sharing a GRO buffer gets a buffer of its own, but never from
  // the last quarter of the pool: a handshake flood arriving coalesced must not take the
  // buffers the data path (and the legitimate peers' handshakes) need.
  if (!own_buffer && pool_.available() <= pool_.count() / 4) {
    engine_.count_drop(DropReason::kRateLimited);
    return;
  }
  io::Packet* q = own_buffer ? p : take_packet();
  if (!q || datagram.size() > q->room()) {
    if (q && q != p) pool_.put(q);
    engine_.count_drop(DropReason::kRateLimited);
    return;
  }
  if (q != p) {
    std::memcpy(q->data(), datagram.data(), datagram.size());
    q->set_len(datagram.size());
    q->remote = p->remote;
    q->local = p->local;
  }
  handshakes_.push_back(q);
}

void Device::on_udp_readable(int family) {
  io::PacketBatch batch;
  io::PacketPool& pool = udp_.gro() && gro_pool_ ? *gro_pool_ : pool_;
  const bool own = &pool == &pool_;
  std::size_t per_read = own ? batch.slots().size() : kBigBuffersPerRead;
  std::size_t bytes = 0, datagrams = 0;
  // Bounded by bytes (latency of the other direction) and by datagrams (1024, what 8 rounds of
  // 128 always moved): small datagrams in 64 KiB GRO buffers (a handshake flood, ACKs) must
  // still be drained fast, or the socket overflows and drops legitimate handshakes with them.
  for (int round = 0; round < 64 && bytes < kTurnBudgetBytes && datagrams < 1024; ++round) {
    batch.resize(pool.get(batch.slots().first(per_read)));
    if (batch.empty()) break;
    auto r = udp_.recv_batch(family, batch.span());
    std::size_t read_bytes = 0;
    for (std::size_t i = 0; i < r.count; ++i) read_bytes += batch[i]->len();
    bytes += read_bytes;
    datagrams += r.count;
    // Uncoalesced small datagrams in big buffers: read the whole GRO pool at once.
    if (!own && r.count == per_read && read_bytes < per_read * 16384) per_read = kGroBuffers;
    clock_.hold();
    // The wall clock is the kernel's arrival stamps' clock (SO_TIMESTAMPNS).
    const WallTime wall = clock_.wall_now();
    // A handshake flood fills the socket's queue with initiations that cookies and the rate
    // limiter deal with; dropping the peers' data behind them would only add to the damage.
    aqm_on_ = !under_load();
    if (!aqm_on_) aqm_.reset();
    // A read that did not fill the batch emptied the socket: then what queues behind a datagram
    // is only the rest of this batch. After a full read more may wait, how much is unknown.
    const bool drained = r.count + r.dropped < batch.size();
    std::size_t left = read_bytes;
    for (std::size_t i = 0; i < r.count; ++i) {
      io::Packet* p = batch[i];
      // How long it waited in the socket's queue, for the AQM in deliver().
      rx_sojourn_ = p->rx_time.count() ? wall - p->rx_time : std::chrono::nanoseconds(0);
      std::size_t seg = p->gso_size ? p->gso_size : p->len();
      if (seg == p->len()) {
        left -= p->len();
        rx_backlog_ = drained ? left : CoDel::kUnknownBacklog;
        on_datagram(p, p->bytes(), own);
        if (own && !handshakes_.empty() && handshakes_.back() == p) batch[i] = nullptr;
        continue;
      }
      for (std::size_t off = 0; off < p->len(); off += seg) {
        const std::size_t n = std::min(seg, p->len() - off);
        left -= n;
        rx_backlog_ = drained ? left : CoDel::kUnknownBacklog;
        on_datagram(p, p->bytes().subspan(off, n), false);
      }
    }
    finish_received();
    clock_.release();
    for (io::Packet*& p : batch)
      if (p) pool.put(p);
    batch.clear();
    flush_tun();
    flush_udp();
    if (r.count == 0) break;
  }
  process_handshakes();
  finish_turn();
}

void Device::process_handshakes() {
  bool load = under_load();
  for (std::size_t n = 0; n < kHandshakeBudget && !handshakes_.empty(); ++n) {
    io::Packet* p = handshakes_.front();
    handshakes_.pop_front();
    engine_.receive(p->bytes(), p->remote, local_endpoint(p->local, udp_.local_port()), load);
    pool_.put(p);
  }
  if (!handshakes_.empty()) loop_->post([this] {
    process_handshakes();
    finish_turn();
  });
}

void Device::finish_received() {
  if (rx_jobs_.empty()) return;
  auto open = [this](std::size_t i) { rx_jobs_[i].job.open(); };
  workers_.for_each(rx_jobs_.size(), rx_job_bytes_, open);
  // In arrival order: replay windows, timers and delivery see the messages as they came.
  for (RxJob& j : rx_jobs_) {
    rx_sojourn_ = j.sojourn;
    rx_backlog_ = j.backlog;
    engine_.finish_data(j.job, j.from, j.local);
  }
  rx_jobs_.clear();
  rx_job_bytes_ = 0;
}

void Device::seal_pending() {
  if (seals_.empty()) return;
  auto seal = [this](std::size_t i) { seals_[i].run(); };
  workers_.for_each(seals_.size(), seal_bytes_, seal);
  release_seal_jobs(seals_);
  seal_bytes_ = 0;
}

bool Device::seal_later(Peer& peer, const SealJob& job) {
  (void)peer;
  seals_.push_back(job);
  seal_bytes_ += job.plain_len;
  return true;
}

void Device::on_timer() {
  engine_.run_timers();
  finish_turn();
}

void Device::finish_turn() {
  flush_tun();
  flush_udp();
  workers_.wipe_stale_keys();  // keys erased this turn leave the idle helpers' caches too
  if (auto next = engine_.next_timer())
    loop_->arm_timer(engine_timer_, *next);
  else
    loop_->disarm_timer(engine_timer_);
}

void Device::flush_udp() {
  seal_pending();
  if (out_udp_.empty()) return;
  auto r = udp_.send_batch(out_udp_.span());
  for (std::size_t i = 0; i < out_udp_.size(); ++i) {
    io::Packet* p = out_udp_[i];
    if (p->source_cleared && p->user) static_cast<Peer*>(p->user)->local_source.reset();
    if (i >= r.count || p->error) engine_.count_drop(DropReason::kSendFailed, static_cast<Peer*>(p->user));
  }
  pool_.put(out_udp_.span());
  out_udp_.clear();
}

void Device::flush_tun() {
  if (out_tun_.empty()) return;
  auto r = tun_.write_batch(out_tun_.span());
  for (std::size_t i = 0; i < out_tun_.size(); ++i) {
    io::Packet* p = out_tun_[i];
    if (i >= r.count || p->error) engine_.count_drop(DropReason::kTunWriteFailed, static_cast<Peer*>(p->user));
  }
  pool_.put(out_tun_.span());
  out_tun_.clear();
}

void Device::send_to_peer(Peer& peer, std::span<const std::uint8_t> datagram) {
  send_data_to_peer(peer, datagram, 0);
}

void Device::send_data_to_peer(Peer& peer, std::span<const std::uint8_t> datagram, std::uint8_t ds) {
  io::Packet* p = take_packet();
  if (!p || !peer.endpoint || datagram.size() > p->room()) {
    if (p) pool_.put(p);
    engine_.count_drop(DropReason::kSendFailed, &peer);
    return;
  }
  std::memcpy(p->data(), datagram.data(), datagram.size());
  queue_to_peer(peer, p, datagram.size(), ds);
}

void Device::queue_to_peer(Peer& peer, io::Packet* p, std::size_t size, std::uint8_t ds) {
  p->set_len(size);
  p->tos = ds;
  p->remote = *peer.endpoint;
  if (peer.local_source && peer.local_source->family() == peer.endpoint->family())
    p->local = io::LocalAddr::of(peer.local_source->ip());
  p->user = &peer;
  out_udp_.push_back(p);
  if (out_udp_.full()) flush_udp();
}

std::span<std::uint8_t> Device::datagram_buffer(Peer& peer, std::size_t size) {
  if (!peer.endpoint) return {};  // send_to_peer counts the drop
  if (!lent_) lent_ = take_packet();
  if (!lent_ || size > lent_->room()) return {};
  return {lent_->data(), lent_->room()};
}

void Device::commit_to_peer(Peer& peer, std::size_t size, std::uint8_t ds) {
  io::Packet* p = std::exchange(lent_, nullptr);
  if (p) queue_to_peer(peer, p, size, ds);
}

void Device::send_to_endpoint(const Endpoint& to, const Endpoint& local,
                              std::span<const std::uint8_t> datagram) {
  io::Packet* p = take_packet();
  if (!p) return;
  std::memcpy(p->data(), datagram.data(), datagram.size());
  p->set_len(datagram.size());
  p->remote = to;
  if (local.valid() && local.family() == to.family()) p->local = io::LocalAddr::of(local.ip());
  out_udp_.push_back(p);
  if (out_udp_.full()) flush_udp();
}

void Device::deliver(Peer& peer, std::span<const std::uint8_t> inner) {
  // CoDel on the socket's queue delay: a standing queue gets a CE mark (ECN-capable packets) or
  // a drop, so TCP backs off before the queue holds milliseconds of data. Stays clear of the
  // replay window: the packet counted as received, only its delivery is refused.
  const bool congested = aqm_on_ && aqm_.on_dequeue(clock_.now(), rx_sojourn_, rx_backlog_);
  io::Packet* p = take_packet();
  if (!p || inner.size() > p->room()) {
    if (p) pool_.put(p);
    engine_.count_drop(DropReason::kTunWriteFailed, &peer);
    return;
  }
  std::memcpy(p->data(), inner.data(), inner.size());
  p->set_len(inner.size());
  if (congested && !mark_ce(p->bytes())) {
    pool_.put(p);
    engine_.count_drop(DropReason::kQueueDelay, &peer);
    return;
  }
  p->user = &peer;
  out_tun_.push_back(p);
  if (out_tun_.full()) flush_tun();
}

void Device::on_event(Peer* peer, EngineEvent event) {
  // wireguard-go logs no line for a roaming peer or an expired session; its log is the reference
  // for ours.
  if (log::level() < log::Level::kVerbose || event == EngineEvent::kEndpointChanged ||
      event == EngineEvent::kSessionExpired)
    return;
  if (!peer) {
    log::verbose("%s", to_string(event));
    return;
  }
  // wireguard-go's short peer name: the first and last four base64 characters of the public key.
  std::string k = to_base64(peer->public_key());
  log::verbose("peer(%s…%s) - %s", k.substr(0, 4).c_str(), k.substr(39, 4).c_str(), to_string(event));
}

// ---------------------------------------------------------------- control

DeviceState Device::live_state() const {
  DeviceState s = engine_state(model_, engine_);
  s.name = tun_.name();
  s.listen_port = udp_.local_port();
  s.fwmark = udp_.fwmark();
  return s;
}

Result<DeviceState> Device::get() {
  std::lock_guard control(control_mu_);
  return on_loop([this]() -> Result<DeviceState> { return live_state(); });
}

void Device::send_initial_keepalives() {
  // A bounded number per loop turn, so a 10 k-peer configuration does not stall the datapath.
  constexpr std::size_t kPerTurn = 256;
  std::size_t n = std::min(kPerTurn, keepalives_due_.size());
  for (std::size_t i = 0; i < n; ++i)
    if (Peer* p = engine_.find_peer(keepalives_due_[i])) engine_.send_keepalive(*p);
  keepalives_due_.erase(keepalives_due_.begin(), keepalives_due_.begin() + std::ptrdiff_t(n));
  finish_turn();
  if (!keepalives_due_.empty()) loop_->post([this] { send_initial_keepalives(); });
}

Status Device::rebind(std::uint16_t port, std::uint32_t fwmark) {
  if (port == udp_.local_port() && port != 0) return udp_.set_fwmark(fwmark);
  // Bind the new sockets while the old ones are still open (the port differs, or is random), so
  // a port in use leaves the device exactly as it was.
  io::UdpSockets fresh;
  fresh.set_offloads(opts_.offloads);
  if (auto st = fresh.bind(port, fwmark); !st) return st;
  watch_udp(false);
  udp_ = std::move(fresh);
  watch_udp(true);
  return {};
}

// An update is validated and the sockets rebound in one loop task; then the model commits it in
// slices of about kSliceTime, each a task of its own, so the loop polls TUN and UDP between them:
// a 100 000-prefix or 10 000-peer update never holds other peers' packets for longer than a
// slice. Peers and prefixes appear in update order meanwhile, as with the kernel's netlink
// messages of one `wg setconf`.
Status Device::apply(const DeviceUpdate& update) {
  std::lock_guard control(control_mu_);
  return apply_locked(update);
}

Status Device::watch(int fd, std::function<void()> on_readable) {
  return loop_->add(fd, EPOLLIN, [cb = std::move(on_readable)](std::uint32_t) { cb(); });
}

void Device::unwatch(int fd) { (void)loop_->remove(fd); }

void Device::run_on_loop(const std::function<void()>& fn) { on_loop(fn); }

// What "small" allows costs at most a few hundred engine operations, counted as apply's slices
// count them (ConfigModel::change_cost): well under a slice, so applying it on the loop thread
// holds packets no longer than a slice would. A new private key or replace_peers is never small.
bool Device::small_update(const DeviceUpdate& update) const {
  constexpr std::size_t kSmall = 256;
  return !update.replace_peers && !update.private_key && model_.change_cost(update) <= kSmall;
}

std::optional<Status> Device::try_apply_now(const DeviceUpdate& update) {
  if (std::this_thread::get_id() != loop_thread_id_) return std::nullopt;
  std::unique_lock control(control_mu_, std::try_to_lock);
  if (!control) return std::nullopt;  // a get or a large apply waits for this thread: never block it
  if (!small_update(update)) return std::nullopt;  // sized against a model no update is halfway through
  return apply_locked(update);
}

Status Device::apply_locked(const DeviceUpdate& update) {
  constexpr auto kSliceTime = std::chrono::milliseconds(2);
  constexpr std::size_t kStepChanges = 128;  // changes between two looks at the clock
  std::optional<ConfigModel::Commit> commit;
  bool done = false;
  // One slice: as many changes as fit in kSliceTime; true once the update is fully applied.
  auto slice = [&] {
    EngineApplier applier(engine_, keepalives_due_);
    const auto end = std::chrono::steady_clock::now() + kSliceTime;
    bool finished;
    do {
      finished = model_.step(*commit, &applier, kStepChanges);
    } while (!finished && std::chrono::steady_clock::now() < end);
    if (finished && !keepalives_due_.empty()) loop_->post([this] { send_initial_keepalives(); });
    finish_turn();
    return finished;
  };
  // The check, the sockets and the first slice in one loop task: a small update (the usual
  // case: one peer, one prefix) costs one round trip to the loop thread.
  auto started = on_loop([&]() -> Status {
    auto checked = model_.check(update);
    if (!checked) return checked.error();
    // Sockets first: it is the one step that can fail for reasons outside the update.
    std::uint16_t want_port = update.listen_port ? *update.listen_port : udp_.local_port();
    std::uint32_t want_mark = update.fwmark ? *update.fwmark : udp_.fwmark();
    if (want_port != udp_.local_port() || (update.listen_port && *update.listen_port == 0)) {
      if (auto st = rebind(want_port, want_mark); !st) return make_error(EADDRINUSE, st.error().message);
    } else if (want_mark != udp_.fwmark()) {
      if (auto st = udp_.set_fwmark(want_mark); !st) return st;
    }
    commit.emplace(*checked);
    done = slice();
    return {};
  });
  if (!started) return started;
  while (!done) done = on_loop(slice);
  return {};
}

}  // namespace wgcore
