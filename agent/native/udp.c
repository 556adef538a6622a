// The underlay's unicast UDP socket, owned by the addon so that datagrams
// move in batches: every datagram queued during one event-loop turn goes to
// the kernel in one sendmmsg(2), and a run of equal-sized datagrams to one
// destination (the MSS-sized FRAMEs cut from one TAP read) travels as one
// UDP GSO message (UDP_SEGMENT): the kernel builds the same datagrams it
// would for separate sends, so the bytes on the wire do not change. The
// receive side (udp_reader.c) drains the socket with recvmmsg(2) and, with
// UDP_GRO, takes such runs as one buffer.
// This file: opening the socket and sending.
// Over 300 lines, kept whole: the socket options read at open and the batched send (GSO runs, sendmmsg, per-datagram errors) are the socket's one owner.
#define _GNU_SOURCE  // sendmmsg, struct mmsghdr
#include "napi_util.h"

#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include "udp.h"

// ---------------------------------------------------------------- open

static void opt_int(napi_env env, napi_value obj, const char* name, int32_t* out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return;
  napi_get_value_int32(env, v, out);
}

static bool opt_bool(napi_env env, napi_value obj, const char* name) {
  napi_value v;
  bool b = false;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return false;
  napi_get_value_bool(env, v, &b);
  return b;
}

// An IPv4 address in dotted text. A longer string is refused, never cut to
// fit ("127.0.0.1000" must not become 127.0.0.100).
static bool get_ipv4(napi_env env, napi_value v, struct in_addr* out) {
  char text[32] = {0};
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, text, sizeof text, &len) != napi_ok) return false;
  if (len >= INET_ADDRSTRLEN) return false;
  return inet_pton(AF_INET, text, out) == 1;
}

static bool opt_in_addr(napi_env env, napi_value obj, const char* name, struct in_addr* out) {
  napi_value v;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return false;
  return get_ipv4(env, v, out);
}

// udpOpen(address, port, opts) → { fd, gso, gro }. Binds without
// SO_REUSEADDR: a second agent on the same address and port gets EADDRINUSE.
// Buffer sizes and multicast options are wishes (the kernel may cap or
// refuse them), as with Node's dgram sockets. `gso`/`gro` in the result say
// whether the kernel accepted UDP_SEGMENT and UDP_GRO (Linux 4.18 / 5.0).
napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_type(env, "udpOpen(address, port, opts)");
  struct sockaddr_in sin;
  memset(&sin, 0, sizeof sin);
  sin.sin_family = AF_INET;
  if (!get_ipv4(env, argv[0], &sin.sin_addr)) return throw_type(env, "address must be an IPv4 address");
  uint32_t port = 0;
  if (napi_get_value_uint32(env, argv[1], &port) != napi_ok || port > 65535) return throw_type(env, "port must be 0-65535");
  sin.sin_port = htons((uint16_t)port);
  napi_valuetype t;
  napi_typeof(env, argv[2], &t);
  if (t != napi_object) return throw_type(env, "opts must be an object");

  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket(AF_INET, SOCK_DGRAM)");
  if (bind(fd, (struct sockaddr*)&sin, sizeof sin) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "bind");
  }
  int32_t rcvbuf = 0, sndbuf = 0, ttl = -1;
  opt_int(env, argv[2], "recvBufferSize", &rcvbuf);
  opt_int(env, argv[2], "sendBufferSize", &sndbuf);
  opt_int(env, argv[2], "multicastTtl", &ttl);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf > 0) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (ttl >= 0 && ttl <= 255) setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
  int loop = opt_bool(env, argv[2], "multicastLoop") ? 1 : 0;
  setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
  struct in_addr ifaddr;
  if (opt_in_addr(env, argv[2], "multicastInterface", &ifaddr)) setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &ifaddr, sizeof ifaddr);
  // UDP_SEGMENT 0 leaves the socket's default segment size unset: this only
  // asks whether the kernel knows the option; each GSO send carries its own.
  int zero = 0, one = 1;
  bool gso = opt_bool(env, argv[2], "gso") && setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0;
  bool gro = opt_bool(env, argv[2], "gro") && setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one) == 0;

  napi_value out, jfd, jgso, jgro;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_int32(env, fd, &jfd));
  CHECK(napi_get_boolean(env, gso, &jgso));
  CHECK(napi_get_boolean(env, gro, &jgro));
  CHECK(napi_set_named_property(env, out, "fd", jfd));
  CHECK(napi_set_named_property(env, out, "gso", jgso));
  CHECK(napi_set_named_property(env, out, "gro", jgro));
  return out;
}

// ---------------------------------------------------------------- send

typedef struct dgram {
  uint8_t* data;
  size_t len;
  uint32_t addr;  // host order
  uint16_t port;
  bool bad;       // not a Buffer: fails without a system call
} dgram_t;

typedef struct send_stats {
  int32_t sent, failed, last_errno, syscalls, blocked, gso_fallbacks, gso_messages;
} send_stats_t;

static bool is_multicast(uint32_t addr) { return (addr >> 28) == 0xe; }

// How many datagrams from d[j] one message carries: a GSO run of datagrams
// to the same destination, all as long as the first except a shorter last
// one (UDP_SEGMENT cuts the concatenation at the first one's length), within
// the kernel's segment and size limits; else 1.
static uint32_t run_length(const dgram_t* d, uint32_t j, uint32_t n, uint32_t iov_free) {
  const dgram_t* f = &d[j];
  if (f->bad || f->len == 0 || f->len > GSO_MAX_BYTES / 2 || is_multicast(f->addr)) return 1;
  uint32_t cnt = 1;
  size_t total = f->len;
  while (j + cnt < n && cnt < GSO_MAX_SEGS && cnt < iov_free) {
    const dgram_t* e = &d[j + cnt];
    if (e->bad || e->addr != f->addr || e->port != f->port || e->len == 0 || e->len > f->len) break;
    if (total + e->len > GSO_MAX_BYTES) break;
    total += e->len;
    cnt++;
    if (e->len < f->len) break;  // a shorter datagram can only end a run
  }
  return cnt;
}

// Sends d[0..n): sendmmsg in chunks, GSO runs when `gso`. Stops at EAGAIN
// (the socket buffer is full: the caller waits for POLLOUT and resumes) and
// returns how many datagrams were consumed, sent or failed. A message the
// kernel refuses (a bad destination, a datagram too large) fails alone: its
// datagrams are counted in `failed` and the rest still go. A refused GSO
// message is retried one datagram at a time, so a failure never costs a
// datagram that a plain send would have delivered.
static uint32_t send_all(int fd, const dgram_t* d, uint32_t n, bool gso, send_stats_t* st) {
  struct mmsghdr msgs[SEND_MSGS];
  struct iovec iov[SEND_IOVS];
  struct sockaddr_in names[SEND_MSGS];
  union {
    char buf[CMSG_SPACE(sizeof(uint16_t))];
    struct cmsghdr align;
  } ctl[SEND_MSGS];
  uint32_t count[SEND_MSGS];
  uint32_t i = 0;
  uint32_t plain_until = 0;  // datagrams before this index go one per message
  // After a refused GSO message its first datagram goes alone: if that one is
  // sent, GSO was the problem (a fallback); if it fails with the same error,
  // the destination was (unreachable, forbidden) and GSO is not to blame.
  int probe_errno = 0;
  uint32_t probe_at = 0;
  while (i < n) {
    // Datagrams that are not Buffers fail in place.
    if (d[i].bad) {
      st->failed++;
      st->last_errno = EINVAL;
      i++;
      continue;
    }
    uint32_t m = 0, used = 0, j = i;
    while (j < n && m < SEND_MSGS && used < SEND_IOVS && !d[j].bad) {
      uint32_t cnt = (gso && j >= plain_until) ? run_length(d, j, n, SEND_IOVS - used) : 1;
      struct msghdr* h = &msgs[m].msg_hdr;
      memset(h, 0, sizeof *h);
      memset(&names[m], 0, sizeof names[m]);
      names[m].sin_family = AF_INET;
      names[m].sin_addr.s_addr = htonl(d[j].addr);
      names[m].sin_port = htons(d[j].port);
      h->msg_name = &names[m];
      h->msg_namelen = sizeof names[m];
      for (uint32_t k = 0; k < cnt; k++) {
        iov[used + k].iov_base = d[j + k].data;
        iov[used + k].iov_len = d[j + k].len;
      }
      h->msg_iov = &iov[used];
      h->msg_iovlen = cnt;
      if (cnt > 1) {
        h->msg_control = ctl[m].buf;
        h->msg_controllen = sizeof ctl[m].buf;
        struct cmsghdr* c = CMSG_FIRSTHDR(h);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t seg = (uint16_t)d[j].len;
        memcpy(CMSG_DATA(c), &seg, sizeof seg);
      }
      count[m] = cnt;
      used += cnt;
      j += cnt;
      m++;
    }
    int r = sendmmsg(fd, msgs, m, 0);
    st->syscalls++;
    if (r < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        st->blocked = 1;
        return i;
      }
      if (count[0] > 1) {
        // The kernel refused the GSO message (say a segment above the route
        // MTU, which a plain send would fragment): send its datagrams singly.
        probe_errno = err;
        probe_at = i;
        plain_until = i + count[0];
        continue;
      }
      if (probe_errno != 0 && i == probe_at) probe_errno = 0;  // the destination's fault, not GSO's
      st->failed++;
      st->last_errno = err;
      i++;
      continue;
    }
    // sendmmsg stops at the first message that fails and returns how many
    // went before it; the next round starts there and meets the error alone.
    for (int k = 0; k < r; k++) {
      if (probe_errno != 0 && i == probe_at) {
        st->gso_fallbacks++;
        probe_errno = 0;
      }
      st->sent += (int32_t)count[k];
      if (count[k] > 1) st->gso_messages++;
      i += count[k];
    }
  }
  return i;
}

static bool get_typed(napi_env env, napi_value v, napi_typedarray_type want, void** data, size_t* len) {
  bool is_typed = false;
  napi_is_typedarray(env, v, &is_typed);
  if (!is_typed) return false;
  napi_typedarray_type type;
  if (napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok) return false;
  return type == want;
}

// udpSend(fd, bufs: Buffer[], addrs: Uint32Array, ports: Uint16Array,
//         count, gso: boolean, stats: Int32Array(7)) → consumed
// Sends bufs[i] to addrs[i]:ports[i] for i < count, in order. Returns how
// many were consumed (sent or failed): fewer than `count` only when the
// socket's buffer is full (stats[4] = 1). stats: sent, failed, errno of the
// last failure, system calls, blocked, GSO messages resent singly, GSO
// messages sent. Throws only on argument errors.
napi_value udp_send(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) return throw_type(env, "udpSend(fd, bufs, addrs, ports, count, gso, stats)");
  int fd;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  bool is_array = false, gso = false;
  napi_is_array(env, argv[1], &is_array);
  if (!is_array) return throw_type(env, "bufs must be an array of Buffers");
  uint32_t *addrs, count;
  uint16_t* ports;
  int32_t* stats;
  size_t na, np, ns;
  if (!get_typed(env, argv[2], napi_uint32_array, (void**)&addrs, &na)) return throw_type(env, "addrs must be a Uint32Array");
  if (!get_typed(env, argv[3], napi_uint16_array, (void**)&ports, &np)) return throw_type(env, "ports must be a Uint16Array");
  if (napi_get_value_uint32(env, argv[4], &count) != napi_ok) return throw_type(env, "count must be a number");
  napi_get_value_bool(env, argv[5], &gso);
  if (!get_typed(env, argv[6], napi_int32_array, (void**)&stats, &ns) || ns < 7) return throw_type(env, "stats must be an Int32Array(7)");
  uint32_t blen;
  CHECK(napi_get_array_length(env, argv[1], &blen));
  if (count > blen || count > na || count > np) return throw_type(env, "count exceeds bufs, addrs or ports");

  dgram_t stack_d[256];
  dgram_t* d = count <= 256 ? stack_d : malloc(sizeof(dgram_t) * count);
  if (!d) return throw_errno(env, ENOMEM, "udpSend");
  for (uint32_t i = 0; i < count; i++) {
    napi_value el;
    bool is_buf = false;
    void* data = NULL;
    size_t len = 0;
    d[i].addr = addrs[i];
    d[i].port = ports[i];
    d[i].bad = napi_get_element(env, argv[1], i, &el) != napi_ok || napi_is_buffer(env, el, &is_buf) != napi_ok || !is_buf ||
               napi_get_buffer_info(env, el, &data, &len) != napi_ok;
    d[i].data = data;
    d[i].len = len;
  }
  send_stats_t st = {0};
  uint32_t consumed = send_all(fd, d, count, gso, &st);
  if (d != stack_d) free(d);
  stats[0] = st.sent;
  stats[1] = st.failed;
  stats[2] = st.last_errno;
  stats[3] = st.syscalls;
  stats[4] = st.blocked;
  stats[5] = st.gso_fallbacks;
  stats[6] = st.gso_messages;
  napi_value result;
  CHECK(napi_create_uint32(env, consumed, &result));
  return result;
}
