// A Tunnel with the library's own UDP socket: for an application that has no transport of its
// own, just like a WireGuard interface's listen port, but without root (any unprivileged port,
// 0 for one the kernel picks). Two ways to run it:
//   - the application drives it: poll fd() for POLLIN (or just call run_once(timeout) in its
//     loop); run_once receives what waits, runs the timers, and returns;
//   - the library's own thread: start(); stop() or the destructor ends it.
// Every method may be called from any thread: calls are serialized with the loop. The handler's
// deliver/on_event/admit run on the loop (the caller's thread in run_once, else the library's
// thread) and must not call back into the same UdpTunnel, except stop(), which then ends the
// loop after the current turn; it must never be destroyed from a callback. Its send_datagram is
// not used: the datagrams go out of the socket. A handler that throws loses that datagram only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>

#include "wgcore/config.hpp"
#include "wgcore/key.hpp"
#include "wgcore/result.hpp"
#include "wgcore/tunnel.hpp"

namespace wgcore {

struct UdpTunnelOptions {
  std::uint16_t listen_port = 0;  // 0: any free port (listen_port() says which)
  TunnelOptions tunnel;           // manual_time is refused: the socket's loop needs real time
};

class UdpTunnel {
 public:
  // Binds [::]:port accepting IPv4 too (or 0.0.0.0:port where IPv6 is off). EADDRINUSE and
  // friends come back with the port in the message.
  static Result<std::unique_ptr<UdpTunnel>> create(const Key& private_key, TunnelHandler& handler,
                                                   UdpTunnelOptions options = {});
  virtual ~UdpTunnel() = default;

  virtual std::uint16_t listen_port() const = 0;
  // As Tunnel's, serialized with the loop.
  virtual Status apply(const DeviceUpdate& update) = 0;
  virtual DeviceState state() const = 0;
  virtual Key public_key() const = 0;
  virtual void send(std::span<const std::uint8_t> packet) = 0;

  // The application's loop. fd() turns readable when datagrams wait. run_once waits up to
  // max_wait (or until the next timer, whichever is first) for datagrams, receives them all,
  // runs the due timers and returns; 0 never blocks.
  virtual int fd() const = 0;
  virtual void run_once(std::chrono::milliseconds max_wait) = 0;
  // How long the application's poll may wait before run_once is due for the timers (0: now).
  virtual std::chrono::milliseconds next_timeout() const = 0;

  // The library's own loop thread. EBUSY if it runs already.
  virtual Status start() = 0;
  virtual void stop() = 0;
};

}  // namespace wgcore
