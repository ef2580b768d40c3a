// The in-process userspace WireGuard device: a TUN interface, UDP sockets and the protocol engine
// on one event-loop thread, which shares big batches of seals and opens with helper threads
// (CryptoWorkers) and keeps everything else, order included, to itself. It is a Control, so the
// UAPI server, our CLI and embedding applications read and change it the same way as the kernel
// module or another daemon.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "model/config_model.hpp"
#include "core/engine.hpp"
#include "core/handshake_load.hpp"
#include "device/codel.hpp"
#include "device/crypto_workers.hpp"
#include "linux/event_loop.hpp"
#include "linux/offload.hpp"
#include "linux/packet.hpp"
#include "linux/tun.hpp"
#include "linux/udp.hpp"
#include "wgcore/control.hpp"

namespace wgcore {

struct DeviceOptions {
  std::string name;      // TUN interface name (at most 15 bytes)
  int mtu = 1420;        // wireguard-go's default; wg-quick sets its own
  std::size_t pool_packets = 1024;
  // Kernel offloads (UDP GSO/GRO, TUN TSO and checksum offload); the default follows WGCORE_OFFLOADS (on unless "0").
  bool offloads = io::offloads_enabled_by_env();
  // Threads that seal and open packets, the loop's own included: 1 keeps crypto on the loop
  // thread, 0 allows one per usable CPU (used as load calls for them). Default: WGCORE_CRYPTO_THREADS.
  unsigned crypto_threads = crypto_threads_by_env();
  // Crypto bytes per thread before another one helps (tests set 1: every batch is parallel).
  std::size_t crypto_bytes_per_thread = CryptoWorkers::kBytesPerThread;
  // Called on the device's thread when it stops on its own (the interface was deleted, the TUN
  // failed), not after stop(): a daemon's loop can end at once instead of polling running().
  std::function<void()> on_failed;
};

// The engine's clock: the system clock, except that a datapath round holds one reading for all
// its packets (a round is bounded to well under a millisecond of work), which saves several
// clock_gettime calls per packet. Wall time is never held.
class TurnClock final : public Clock {
 public:
  Time now() const override { return held_ ? *held_ : system_clock().now(); }
  WallTime wall_now() const override { return system_clock().wall_now(); }
  void hold() { held_ = system_clock().now(); }
  void release() { held_.reset(); }

 private:
  std::optional<Time> held_;
};

class Device final : public Control, private EngineSink {
 public:
  // Creates the TUN interface, binds UDP on a random port and starts the loop thread.
  static Result<std::unique_ptr<Device>> create(const DeviceOptions& opts);
  ~Device() override;

  Result<DeviceState> get() override;
  Status apply(const DeviceUpdate& update) override;
  std::string backend() const override { return "userspace"; }

  const std::string& name() const { return tun_.name(); }
  // Stops the loop; the interface disappears when the device is destroyed.
  void stop();
  // Blocks until the device stops: stop(), or the interface was deleted (`ip link del`).
  void wait();
  bool running() const { return !stopped_.load(); }
  // Batches of seals or opens that ran on more than one thread so far.
  std::uint64_t parallel_crypto_batches();
  // What the engine holds, for tests and diagnostics: peers, receiver indices (handshakes and
  // sessions in flight), AllowedIPs prefixes, and the configuration operations it performed so
  // far (Engine::config_operations).
  struct Internals {
    std::size_t peers = 0;
    std::size_t receiver_indices = 0;
    std::size_t allowed_ips = 0;
    std::size_t model_peers = 0;  // the configuration model's own count, which must agree
    std::size_t model_prefixes = 0;
    std::uint64_t config_operations = 0;
  };
  Internals internals();

  // For a server that answers control requests on the loop thread itself (the UAPI server's
  // host, control/interface.cpp): running there, watching descriptors there, and applying an
  // update there at once when it is small (a few peers and prefixes, no private key, nothing
  // replaced: it cannot hold the datapath) and no other control call holds the device; nullopt
  // otherwise. try_apply_now and the watches: the loop thread only.
  void run_on_loop(const std::function<void()>& fn);
  Status watch(int fd, std::function<void()> on_readable);
  void unwatch(int fd);
  std::optional<Status> try_apply_now(const DeviceUpdate& update);

 private:
  explicit Device(const DeviceOptions& opts);
  Status start();

  Status apply_locked(const DeviceUpdate& update);  // control_mu_ held
  bool small_update(const DeviceUpdate& update) const;
  // Runs fn on the loop thread and waits for it (directly when already there).
  template <class F>
  auto on_loop(F&& fn) -> decltype(fn());

  // ---- loop-thread work ----
  void on_tun_readable();
  void on_udp_readable(int family);
  // One received datagram (a whole buffer, or one segment of a UDP GRO buffer).
  void on_datagram(io::Packet* p, std::span<std::uint8_t> datagram, bool own_buffer);
  void process_handshakes();
  void on_timer();
  void finish_turn();  // flush queued I/O, re-arm the engine's timer
  void flush_udp();
  void flush_tun();
  void seal_pending();      // runs the deferred seals of out_udp_ (in parallel when worth it)
  void finish_received();   // opens the round's data messages, then finishes them in order
  bool under_load();
  Status rebind(std::uint16_t port, std::uint32_t fwmark);
  void watch_udp(bool on);
  DeviceState live_state() const;
  void send_initial_keepalives();
  void fail(const char* why);

  // EngineSink
  void send_to_peer(Peer& peer, std::span<const std::uint8_t> datagram) override;
  std::span<std::uint8_t> datagram_buffer(Peer& peer, std::size_t size) override;
  bool seal_later(Peer& peer, const SealJob& job) override;
  void commit_to_peer(Peer& peer, std::size_t size, std::uint8_t ds) override;
  void send_data_to_peer(Peer& peer, std::span<const std::uint8_t> datagram, std::uint8_t ds) override;
  // Addresses a filled packet to the peer (endpoint, sticky source) and queues it for the socket.
  void queue_to_peer(Peer& peer, io::Packet* p, std::size_t size, std::uint8_t ds);
  void send_to_endpoint(const Endpoint& to, const Endpoint& local,
                        std::span<const std::uint8_t> datagram) override;
  void deliver(Peer& peer, std::span<const std::uint8_t> inner) override;
  void on_event(Peer* peer, EngineEvent event) override;
  io::Packet* take_packet();

  DeviceOptions opts_;
  io::TunDevice tun_;
  io::UdpSockets udp_;
  std::unique_ptr<io::EventLoop> loop_;
  io::EventLoop::TimerId engine_timer_ = 0;
  io::EventLoop::TimerId housekeeping_timer_ = 0;
  io::PacketPool pool_;
  TurnClock clock_;  // before engine_, which keeps a reference
  // Receive buffers of io::kGroBufferBytes for UDP GRO; null when offloads are off.
  std::unique_ptr<io::PacketPool> gro_pool_;
  // TUN read buffers for 64 KiB TSO super-packets, and the segment being built; only with the
  // TUN's virtio-net header.
  std::unique_ptr<io::PacketPool> tun_pool_;
  std::vector<std::uint8_t> tso_scratch_;
  Engine engine_;
  // What was configured (allowed-IP order, keepalive, psk); every change reaches engine_ through
  // it, one operation per thing the update names (EngineApplier in device.cpp).
  ConfigModel model_;
  // Held by apply(), get() and try_apply_now() from start to end: an update is committed in
  // slices with datapath turns between them, and no other control call may see or change the
  // model halfway. The loop thread only ever try-locks it (the holder may be waiting for it).
  std::mutex control_mu_;
  io::PacketBatch out_udp_;
  io::Packet* lent_ = nullptr;  // handed out by datagram_buffer, until commit_to_peer
  io::PacketBatch out_tun_;
  std::deque<io::Packet*> handshakes_;
  CryptoWorkers workers_;
  std::vector<SealJob> seals_;  // for the packets in out_udp_ the engine left unsealed
  std::size_t seal_bytes_ = 0;
  // A received data message between engine_.begin_data and engine_.finish_data, with what its
  // finish needs from the datagram it came in.
  struct RxJob {
    DataJob job;
    Endpoint from, local;
    std::chrono::nanoseconds sojourn;
    std::size_t backlog;
  };
  std::vector<RxJob> rx_jobs_;
  std::size_t rx_job_bytes_ = 0;
  CoDel aqm_;  // the UDP receive queue's AQM, applied as packets are delivered to the TUN
  std::chrono::nanoseconds rx_sojourn_{0};  // queue delay of the datagram being processed
  std::size_t rx_backlog_ = 0;               // bytes known to queue behind it (CoDel::kUnknownBacklog)
  bool aqm_on_ = false;                      // off while under a handshake flood
  // Peers whose persistent keepalive was just turned on: their first keepalive (and handshake)
  // goes out from the loop after apply() returns, like the kernel's workqueue.
  std::vector<Key> keepalives_due_;
  LoadLatch load_;
  std::thread thread_;
  std::thread::id loop_thread_id_;
  std::atomic<bool> stopped_{false};
  bool failed_ = false;  // fail() stopped the loop (loop thread only)
  std::promise<void> stopped_promise_;
  std::shared_future<void> stopped_future_;
};

}  // namespace wgcore
