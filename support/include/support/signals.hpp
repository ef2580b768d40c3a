// The signal setup our daemons share (wgcored, wgcore-networkd, frr-wgd): the stop and reload
// signals are blocked, to be taken synchronously by the main loop (sigtimedwait or signalfd), and
// SIGPIPE is ignored, so a peer that hangs up on a socket is an EPIPE, not the daemon's end.
#pragma once

#include <signal.h>

namespace wgcore {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and ignores SIGPIPE; returns the
// blocked set. Call before any thread starts: threads inherit the mask, so only the main loop
// receives the signals.
sigset_t block_daemon_signals();

}  // namespace wgcore
