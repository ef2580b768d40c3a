/* The C ABI from C itself (C11, no C++ anywhere in this file): wgcore.h must compile as C, and
 * two tunnels exchange a packet through it. Exit status 0 on success. */
#include "wgcore.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define MAX_WIRE 8
struct wire {
  uint8_t buf[MAX_WIRE][256];
  size_t len[MAX_WIRE];
  int n;
};
struct side {
  struct wire out;
  uint8_t delivered[256];
  size_t delivered_len;
  int handshakes;
};

static void send_cb(void *user, const uint8_t *peer, const struct sockaddr *to, socklen_t to_len, const uint8_t *d,
                    size_t n) {
  struct side *s = user;
  (void)peer, (void)to, (void)to_len;
  if (s->out.n < MAX_WIRE && n <= sizeof s->out.buf[0]) {
    memcpy(s->out.buf[s->out.n], d, n);
    s->out.len[s->out.n++] = n;
  }
}
static void deliver_cb(void *user, const uint8_t *peer, const uint8_t *p, size_t n) {
  struct side *s = user;
  (void)peer;
  if (n <= sizeof s->delivered) {
    memcpy(s->delivered, p, n);
    s->delivered_len = n;
  }
}
static void event_cb(void *user, const uint8_t *peer, int e) {
  struct side *s = user;
  (void)peer;
  if (e == WGCORE_EVENT_HANDSHAKE_COMPLETED) s->handshakes++;
}

/* Hands one side's datagrams to the other tunnel. */
static int carry(struct side *from_side, wgcore_tunnel *to, const struct sockaddr_in *from) {
  wgcore_error err;
  int i, n = from_side->out.n;
  from_side->out.n = 0;
  for (i = 0; i < n; i++)
    if (wgcore_tunnel_receive(to, from_side->out.buf[i], from_side->out.len[i], (const struct sockaddr *)from,
                              sizeof *from, &err) != 0) {
      fprintf(stderr, "receive: %s\n", err.message);
      return -1;
    }
  return n;
}

#define CHECK(cond)                                         \
  do {                                                      \
    if (!(cond)) {                                          \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                             \
    }                                                       \
  } while (0)

int main(void) {
  uint8_t priv_a[WGCORE_KEY_LEN], priv_b[WGCORE_KEY_LEN], pub_a[WGCORE_KEY_LEN], pub_b[WGCORE_KEY_LEN];
  struct side a_side, b_side;
  wgcore_callbacks cba, cbb;
  wgcore_tunnel *a = NULL, *b = NULL;
  wgcore_error err;
  wgcore_peer pa, pb;
  struct sockaddr_in ep_a, ep_b;
  const char *allowed_a[] = {"10.0.0.1/32"}, *allowed_b[] = {"10.0.0.2/32"};
  /* A minimal IPv4 packet 10.0.0.1 -> 10.0.0.2 (protocol 253, for experiments), 24 bytes. */
  uint8_t pkt[24] = {0x45, 0, 0, 24, 0, 0, 0, 0, 64, 253, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 'p', 'i', 'n', 'g'};
  uint32_t sum = 0;
  int i, round;

  for (i = 0; i < 20; i += 2) sum += (uint32_t)(pkt[i] << 8 | pkt[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  pkt[10] = (uint8_t)(~sum >> 8);
  pkt[11] = (uint8_t)~sum;

  memset(&a_side, 0, sizeof a_side);
  memset(&b_side, 0, sizeof b_side);
  CHECK(wgcore_generate_private_key(priv_a) == 0 && wgcore_generate_private_key(priv_b) == 0);
  CHECK(wgcore_public_key(priv_a, pub_a) == 0 && wgcore_public_key(priv_b, pub_b) == 0);
  memset(&cba, 0, sizeof cba);
  cba.size = sizeof cba;
  cba.send_datagram = send_cb;
  cba.deliver = deliver_cb;
  cba.event = event_cb;
  cbb = cba;
  cba.user = &a_side;
  cbb.user = &b_side;
  CHECK(wgcore_tunnel_new(priv_a, &cba, NULL, &a, &err) == 0);
  CHECK(wgcore_tunnel_new(priv_b, &cbb, NULL, &b, &err) == 0);

  memset(&ep_a, 0, sizeof ep_a);
  ep_a.sin_family = AF_INET;
  ep_a.sin_port = htons(51820);
  inet_pton(AF_INET, "192.0.2.1", &ep_a.sin_addr);
  ep_b = ep_a;
  inet_pton(AF_INET, "192.0.2.2", &ep_b.sin_addr);

  memset(&pa, 0, sizeof pa);
  pa.size = sizeof pa;
  memcpy(pa.public_key, pub_b, WGCORE_KEY_LEN);
  pa.endpoint = (const struct sockaddr *)&ep_b;
  pa.endpoint_len = sizeof ep_b;
  pa.allowed_ips = allowed_b;
  pa.allowed_ips_len = 1;
  CHECK(wgcore_tunnel_set_peer(a, &pa, &err) == 0);
  memset(&pb, 0, sizeof pb);
  pb.size = sizeof pb;
  memcpy(pb.public_key, pub_a, WGCORE_KEY_LEN);
  pb.allowed_ips = allowed_a;
  pb.allowed_ips_len = 1;
  CHECK(wgcore_tunnel_set_peer(b, &pb, &err) == 0);

  CHECK(wgcore_tunnel_send(a, pkt, sizeof pkt, &err) == 0);
  for (round = 0; round < 5; round++) {
    CHECK(carry(&a_side, b, &ep_a) >= 0);
    CHECK(carry(&b_side, a, &ep_b) >= 0);
  }
  CHECK(b_side.delivered_len == sizeof pkt && memcmp(b_side.delivered, pkt, sizeof pkt) == 0);
  CHECK(a_side.handshakes == 1 && b_side.handshakes == 1);
  CHECK(wgcore_tunnel_remove_peer(a, pub_a, &err) == -ENOENT && err.code == -ENOENT);
  wgcore_tunnel_free(a);
  wgcore_tunnel_free(b);
  printf("ok: a packet from one C-embedded tunnel to another, one handshake each\n");
  return 0;
}
