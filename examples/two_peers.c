/* Two WireGuard peers inside one C program: each a wgcore_tunnel, the "network" between them a
 * queue of datagrams this program carries itself. Peer A sends an IPv4 packet to B's tunnel
 * address; the first send starts the handshake, and B's application receives the packet.
 *
 *   cc two_peers.c $(pkg-config --cflags --libs wgcore) -o two_peers && ./two_peers
 */
#include <wgcore.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* What one side's tunnel handed out: datagrams for the transport, packets for the application. */
struct side {
  const char *name;
  uint8_t queue[8][256];
  size_t queue_len[8];
  int queued;
  int received;
};

static void send_datagram(void *user, const uint8_t *peer, const struct sockaddr *to, socklen_t to_len,
                          const uint8_t *datagram, size_t len) {
  struct side *s = user;
  (void)peer, (void)to, (void)to_len;
  if (s->queued < 8 && len <= sizeof s->queue[0]) {
    memcpy(s->queue[s->queued], datagram, len);
    s->queue_len[s->queued++] = len;
  }
}

static void deliver(void *user, const uint8_t *peer, const uint8_t *packet, size_t len) {
  struct side *s = user;
  (void)peer;
  s->received++;
  printf("%s received a %zu-byte packet: \"%.*s\"\n", s->name, len, (int)(len - 20), (const char *)packet + 20);
}

static void event(void *user, const uint8_t *peer, int ev) {
  struct side *s = user;
  (void)peer;
  printf("%s: %s\n", s->name, wgcore_event_name(ev));
}

/* Delivers what `from` queued to tunnel `to`, as if from address `src`. */
static void carry(struct side *from, wgcore_tunnel *to, const struct sockaddr_in *src) {
  wgcore_error err;
  int i, n = from->queued;
  from->queued = 0;
  for (i = 0; i < n; i++)
    if (wgcore_tunnel_receive(to, from->queue[i], from->queue_len[i], (const struct sockaddr *)src, sizeof *src, &err))
      fprintf(stderr, "receive: %s\n", err.message);
}

static struct sockaddr_in address(const char *ip, uint16_t port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, ip, &sa.sin_addr);
  return sa;
}

static int add_peer(wgcore_tunnel *t, const uint8_t *key, const struct sockaddr_in *endpoint, const char *allowed) {
  wgcore_peer p;
  wgcore_error err;
  memset(&p, 0, sizeof p);
  p.size = sizeof p;
  memcpy(p.public_key, key, WGCORE_KEY_LEN);
  p.endpoint = (const struct sockaddr *)endpoint;
  p.endpoint_len = endpoint ? sizeof *endpoint : 0;
  p.allowed_ips = &allowed;
  p.allowed_ips_len = 1;
  if (wgcore_tunnel_set_peer(t, &p, &err)) {
    fprintf(stderr, "set_peer: %s\n", err.message);
    return -1;
  }
  return 0;
}

int main(void) {
  uint8_t priv_a[WGCORE_KEY_LEN], priv_b[WGCORE_KEY_LEN], pub_a[WGCORE_KEY_LEN], pub_b[WGCORE_KEY_LEN];
  struct side a = {.name = "A"}, b = {.name = "B"};
  struct sockaddr_in addr_a = address("192.0.2.1", 51820), addr_b = address("192.0.2.2", 51820);
  wgcore_callbacks cb;
  wgcore_tunnel *ta, *tb;
  wgcore_error err;
  /* IPv4, 10.0.0.1 -> 10.0.0.2, protocol 253 (for experiments), with a 12-byte payload. */
  uint8_t packet[32] = {0x45, 0, 0, 32, 0, 0, 0, 0, 64, 253, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2};
  uint32_t sum = 0;
  int i;

  memcpy(packet + 20, "hello from A", 12);
  for (i = 0; i < 20; i += 2) sum += (uint32_t)(packet[i] << 8 | packet[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  packet[10] = (uint8_t)(~sum >> 8);
  packet[11] = (uint8_t)~sum;

  wgcore_generate_private_key(priv_a);
  wgcore_generate_private_key(priv_b);
  wgcore_public_key(priv_a, pub_a);
  wgcore_public_key(priv_b, pub_b);

  memset(&cb, 0, sizeof cb);
  cb.size = sizeof cb;
  cb.send_datagram = send_datagram;
  cb.deliver = deliver;
  cb.event = event;
  cb.user = &a;
  if (wgcore_tunnel_new(priv_a, &cb, NULL, &ta, &err)) return fprintf(stderr, "%s\n", err.message), 1;
  cb.user = &b;
  if (wgcore_tunnel_new(priv_b, &cb, NULL, &tb, &err)) return fprintf(stderr, "%s\n", err.message), 1;
  if (add_peer(ta, pub_b, &addr_b, "10.0.0.2/32") || add_peer(tb, pub_a, NULL, "10.0.0.1/32")) return 1;

  wgcore_tunnel_send(ta, packet, sizeof packet, &err);
  for (i = 0; i < 4; i++) {
    carry(&a, tb, &addr_a);
    carry(&b, ta, &addr_b);
  }
  wgcore_tunnel_free(ta);
  wgcore_tunnel_free(tb);
  return b.received == 1 ? 0 : 1;
}
