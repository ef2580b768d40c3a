/* libwgcore's C ABI: a WireGuard tunnel inside an application, for C and any language with a C
 * FFI. It is wgcore::Tunnel (wgcore/tunnel.hpp) behind opaque handles:
 *  - the application writes inner IP packets in (wgcore_tunnel_send) and gets datagrams for its
 *    transport out (callback send_datagram); it feeds received datagrams in
 *    (wgcore_tunnel_receive) and gets inner packets out (callback deliver);
 *  - no TUN, no sockets, no privileges;
 *  - not thread-safe per tunnel: serialize calls; callbacks run inside the call that caused them
 *    and must not call into the same tunnel.
 *
 * Conventions, so the ABI can grow without breaking callers:
 *  - functions return 0 on success or a negative errno value (-EINVAL, -ENOENT, -ENOMEM, ...);
 *  - when `err` is not NULL, a failure also fills it with the code and a message;
 *  - structs passed in start with `size`, set by the caller to sizeof(the struct); fields added
 *    later go at the end, and the library reads only what `size` covers;
 *  - keys are 32 raw bytes (wgcore_key_from_base64 decodes `wg`'s text form).
 */
#ifndef WGCORE_H
#define WGCORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WGCORE_KEY_LEN 32

typedef struct wgcore_tunnel wgcore_tunnel;

typedef struct wgcore_error {
  int code;           /* a negative errno value, as returned */
  char message[256];  /* what went wrong, NUL-terminated */
} wgcore_error;

/* Events (callback `event`). */
enum {
  WGCORE_EVENT_HANDSHAKE_COMPLETED = 0, /* a new session with the peer */
  WGCORE_EVENT_ENDPOINT_CHANGED = 1,    /* the peer roamed: replies go to its new endpoint */
  WGCORE_EVENT_PEER_WENT_QUIET = 2,     /* data sent, nothing back for 15 s: handshaking again */
  WGCORE_EVENT_HANDSHAKE_GAVE_UP = 3,   /* no answer after 20 attempts */
  WGCORE_EVENT_KEYS_ZEROED = 4,         /* session keys erased (no new session for 540 s) */
  WGCORE_EVENT_SESSION_EXPIRED = 5      /* the newest session is 180 s old: no data until a new handshake */
};
/* "handshake-completed", ...; NULL for an unknown value. */
const char *wgcore_event_name(int event);

typedef struct wgcore_peer {
  size_t size; /* sizeof(wgcore_peer) */
  uint8_t public_key[WGCORE_KEY_LEN];
  int set_preshared_key; /* non-zero: set preshared_key (all zero clears it) */
  uint8_t preshared_key[WGCORE_KEY_LEN];
  const struct sockaddr *endpoint; /* NULL: leave as is */
  socklen_t endpoint_len;
  int set_keepalive; /* non-zero: set persistent_keepalive (0 turns it off) */
  uint16_t persistent_keepalive; /* seconds */
  int replace_allowed_ips;       /* non-zero: allowed_ips replace the peer's list */
  const char *const *allowed_ips; /* "10.0.0.0/24", "2001:db8::/64", ... added in order */
  size_t allowed_ips_len;
} wgcore_peer;

typedef struct wgcore_callbacks {
  size_t size; /* sizeof(wgcore_callbacks) */
  void *user;  /* passed back to every callback */
  /* A datagram for the transport. `peer` is the peer's public key, or NULL for a reply to an
   * address that is not an authenticated peer yet (a cookie reply). Required. */
  void (*send_datagram)(void *user, const uint8_t *peer, const struct sockaddr *to, socklen_t to_len,
                        const uint8_t *datagram, size_t len);
  /* An authenticated inner IP packet from `peer`. Required. */
  void (*deliver)(void *user, const uint8_t *peer, const uint8_t *packet, size_t len);
  /* Optional (NULL: none). */
  void (*event)(void *user, const uint8_t *peer, int event);
  /* Optional, with options->admit_unknown: an initiation from a key no peer has, verified (mac1,
   * static key, timestamp). Fill `peer` (public_key is set; allowed_ips and the rest are yours;
   * strings need to live only until the callback returns) and return non-zero to admit it; return
   * 0 to refuse: no response is sent and nothing of the initiator stays. */
  int (*admit)(void *user, const uint8_t *initiator, const struct sockaddr *from, socklen_t from_len,
               struct wgcore_peer *peer);
} wgcore_callbacks;

typedef struct wgcore_tunnel_options {
  size_t size;       /* sizeof(wgcore_tunnel_options) */
  uint32_t mtu;      /* inner MTU, 576..65535; 0: 1420 */
  int manual_time;   /* non-zero: time only from wgcore_tunnel_set_time */
  int admit_unknown; /* non-zero: unknown initiators go to callbacks->admit */
  /* Load defence: past this many handshake messages a second, initiators must prove their address
   * with a cookie first (no response, no admit call, nothing kept) and are rate-limited per
   * address, for a second after the last time it was over. 0: 1000. */
  uint32_t under_load_handshakes_per_second;
} wgcore_tunnel_options;

/* A tunnel with this private key (32 bytes). `options` may be NULL. */
int wgcore_tunnel_new(const uint8_t *private_key, const wgcore_callbacks *callbacks,
                      const wgcore_tunnel_options *options, wgcore_tunnel **out, wgcore_error *err);
void wgcore_tunnel_free(wgcore_tunnel *tunnel); /* NULL is fine; the keys are zeroed (a thread ends first) */

/* A tunnel with a UDP socket of the library's own on `listen_port` (0: any free one), [::] with
 * IPv4 mapped in, or 0.0.0.0 where the host has no IPv6; no privileges needed above port 1023.
 * callbacks->send_datagram is not used. Run it with wgcore_tunnel_run_once from your loop (poll
 * wgcore_tunnel_fd), or with wgcore_tunnel_start on a thread of the library's. Every function may
 * then be called from any thread; the callbacks run on the loop and must not call into the same
 * tunnel. wgcore_tunnel_receive, _process and _set_time are for the other kind (-EINVAL). */
int wgcore_tunnel_new_udp(const uint8_t *private_key, const wgcore_callbacks *callbacks,
                          const wgcore_tunnel_options *options, uint16_t listen_port, wgcore_tunnel **out,
                          wgcore_error *err);
int wgcore_tunnel_listen_port(const wgcore_tunnel *tunnel); /* 0 for a tunnel without a socket */
int wgcore_tunnel_fd(const wgcore_tunnel *tunnel);          /* readable when datagrams wait */
/* Waits up to timeout_ms (or until the next timer) for datagrams, receives them, runs the timers. */
int wgcore_tunnel_run_once(wgcore_tunnel *tunnel, int timeout_ms, wgcore_error *err);
int wgcore_tunnel_start(wgcore_tunnel *tunnel, wgcore_error *err); /* -EBUSY if it runs already */
void wgcore_tunnel_stop(wgcore_tunnel *tunnel);
int wgcore_tunnel_public_key(const wgcore_tunnel *tunnel, uint8_t *out);


/* Adds the peer, or changes it if it exists; atomic. A new preshared key is used from the next
 * handshake on; the running session continues. */
int wgcore_tunnel_set_peer(wgcore_tunnel *tunnel, const wgcore_peer *peer, wgcore_error *err);
/* -ENOENT when there is no such peer. */
int wgcore_tunnel_remove_peer(wgcore_tunnel *tunnel, const uint8_t *public_key, wgcore_error *err);
/* `psk` NULL clears it; -ENOENT when there is no such peer. */
int wgcore_tunnel_set_preshared_key(wgcore_tunnel *tunnel, const uint8_t *public_key, const uint8_t *psk,
                                    wgcore_error *err);

/* An inner IPv4/IPv6 packet to the peer whose AllowedIPs hold its destination. */
int wgcore_tunnel_send(wgcore_tunnel *tunnel, const uint8_t *packet, size_t len, wgcore_error *err);
/* A datagram from the transport, decrypted in place (the buffer is overwritten). */
int wgcore_tunnel_receive(wgcore_tunnel *tunnel, uint8_t *datagram, size_t len, const struct sockaddr *from,
                          socklen_t from_len, wgcore_error *err);

/* Runs what is due: handshake retries, keepalives, rekeying, key erasure. */
int wgcore_tunnel_process(wgcore_tunnel *tunnel, wgcore_error *err);
/* When to call wgcore_tunnel_process next, in nanoseconds of the tunnel's monotonic time
 * (CLOCK_MONOTONIC, or wgcore_tunnel_set_time's); -1 when no timer is armed. */
int64_t wgcore_tunnel_next_deadline(const wgcore_tunnel *tunnel);
/* manual_time only: monotonic time (never backwards) and wall-clock time, in nanoseconds. */
int wgcore_tunnel_set_time(wgcore_tunnel *tunnel, int64_t monotonic_ns, int64_t wall_ns, wgcore_error *err);

typedef struct wgcore_peer_stats {
  size_t size; /* sizeof(wgcore_peer_stats), set by the caller */
  uint64_t rx_bytes;
  uint64_t tx_bytes;
  int64_t last_handshake_sec; /* Unix time; 0: never */
  int64_t last_handshake_nsec;
  uint64_t drops; /* every reason together; wgcore_tunnel_drop_count for one */
} wgcore_peer_stats;
int wgcore_tunnel_peer_stats(const wgcore_tunnel *tunnel, const uint8_t *public_key, wgcore_peer_stats *out,
                             wgcore_error *err);
/* Packets dropped for `reason` ("no_route", "replay", "bad_mac1", ... as in `wgcore show`), by
 * `public_key`'s peer, or tunnel-wide when public_key is NULL. -EINVAL for an unknown reason. */
int wgcore_tunnel_drop_count(const wgcore_tunnel *tunnel, const uint8_t *public_key, const char *reason,
                             uint64_t *out, wgcore_error *err);
/* The reason names, 0..n-1; NULL past the last. */
const char *wgcore_drop_reason_name(size_t i);

/* Keys. */
int wgcore_generate_private_key(uint8_t *out);
int wgcore_public_key(const uint8_t *private_key, uint8_t *out);
int wgcore_key_from_base64(const char *text, uint8_t *out); /* -EINVAL if not 44 chars of a key */
int wgcore_key_to_base64(const uint8_t *key, char *out, size_t out_len); /* out_len >= 45 */

#ifdef __cplusplus
}
#endif

#endif /* WGCORE_H */
