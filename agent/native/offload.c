// TCP segmentation (TSO, frames the guest kernel hands us) and coalescing
// (GRO-like, frames we hand the guest kernel) for TAP devices with the
// virtio-net header. Offsets follow RFC 791 (IPv4) and RFC 9293 (TCP);
// checksums are RFC 1071 ones' complement sums.
#include "offload.h"

#include <string.h>

#define ETH_HLEN_ 14
#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define IP6_HLEN 40
#define ETH_P_8021Q 0x8100
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define UDP_HLEN_ 8
#define UDP_CHECK_OFF 6  // RFC 768: checksum at byte 6 of the header
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80
#define TCP_CHECK_OFF 16  // RFC 9293 §3.1: checksum at byte 16 of the header
#define IP_CHECK_OFF 10   // RFC 791 §3.1: header checksum at byte 10

static inline uint16_t rd16(const uint8_t* p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t* p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline void wr16(uint8_t* p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr32(uint8_t* p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }
static inline uint16_t rdle16(const uint8_t* p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline void wrle16(uint8_t* p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

void vnet_hdr_decode(const uint8_t* p, vnet_hdr_t* h) {
  h->flags = p[0];
  h->gso_type = p[1];
  h->hdr_len = rdle16(p + 2);
  h->gso_size = rdle16(p + 4);
  h->csum_start = rdle16(p + 6);
  h->csum_offset = rdle16(p + 8);
}

void vnet_hdr_encode(const vnet_hdr_t* h, uint8_t* p) {
  p[0] = h->flags;
  p[1] = h->gso_type;
  wrle16(p + 2, h->hdr_len);
  wrle16(p + 4, h->gso_size);
  wrle16(p + 6, h->csum_start);
  wrle16(p + 8, h->csum_offset);
}

// Sum of big-endian 16-bit words (an odd last byte is the high half), added
// to `acc`. RFC 1071 §2(B): the ones' complement sum does not depend on byte
// order, so the data is summed as native 64-bit loads split into 32-bit
// halves (two independent sums that cannot overflow below 2^31 bytes) and the
// folded result swapped once at the end.
static uint64_t sum16(const uint8_t* p, size_t len, uint64_t acc) {
  uint64_t a = 0, b = 0;
  while (len >= 16) {
    uint64_t x, y;
    memcpy(&x, p, 8);
    memcpy(&y, p + 8, 8);
    a += (x & 0xffffffffu) + (x >> 32);
    b += (y & 0xffffffffu) + (y >> 32);
    p += 16;
    len -= 16;
  }
  uint64_t s = a + b;
  while (len >= 4) {
    uint32_t w;
    memcpy(&w, p, 4);
    s += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t h;
    memcpy(&h, p, 2);
    s += h;
    p += 2;
    len -= 2;
  }
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  if (len) s += p[0];  // the high byte of a big-endian word is the low byte here
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return acc + (uint16_t)((s >> 8) | (s << 8));
#else
  if (len) s += (uint64_t)p[0] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return acc + s;
#endif
}

static uint16_t fold(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return (uint16_t)acc;
}

static uint64_t pseudo4p(const uint8_t* ip, unsigned proto, size_t l4len) {
  // RFC 9293 §3.1 (RFC 768 alike) pseudo-header: source, destination, zero+protocol, length
  return sum16(ip + 12, 8, 0) + proto + l4len;
}

static uint64_t pseudo4(const uint8_t* ip, size_t l4len) { return pseudo4p(ip, IPPROTO_TCP_, l4len); }

static uint64_t pseudo6(const uint8_t* ip, unsigned proto, size_t l4len) {
  // RFC 8200 §8.1 pseudo-header: source, destination, length, next header
  return sum16(ip + 8, 32, 0) + proto + l4len;
}

static void ip4_checksum(uint8_t* ip, size_t ihl) {
  wr16(ip + IP_CHECK_OFF, 0);
  wr16(ip + IP_CHECK_OFF, (uint16_t)~fold(sum16(ip, ihl, 0)));
}

int offload_complete_csum(uint8_t* frame, size_t len, unsigned start, unsigned offset) {
  if ((size_t)start + offset + 2 > len) return -1;
  uint16_t c = (uint16_t)~fold(sum16(frame + start, len - start, 0));
  wr16(frame + start + offset, c ? c : 0xffff);  // 0 and 0xffff are the same sum
  return 0;
}

static size_t l3_offset(const uint8_t* f, size_t len, uint16_t* ethertype) {
  if (len < ETH_HLEN_) return 0;
  uint16_t t = rd16(f + 12);
  size_t off = ETH_HLEN_;
  if (t == ETH_P_8021Q) {
    if (len < ETH_HLEN_ + 4) return 0;
    t = rd16(f + 16);
    off += 4;
  }
  *ethertype = t;
  return off;
}

int offload_tso_plan(const uint8_t* f, size_t len, unsigned mss, int udp, tso_plan_t* p) {
  uint16_t et = 0;
  size_t l3 = l3_offset(f, len, &et);
  // The smallest transport header: UDP's 8 bytes, TCP's 20.
  size_t min_l4 = udp ? UDP_HLEN_ : 20;
  unsigned proto = udp ? IPPROTO_UDP_ : IPPROTO_TCP_;
  if (!l3 || (et != ETH_P_IPV4 && et != ETH_P_IPV6) || mss == 0 || len < l3 + 20) return -1;
  const uint8_t* ip = f + l3;
  size_t ihl;
  if (et == ETH_P_IPV6) {
    // The transport header right behind the fixed header: what the kernel's TSO6 and USO hand over.
    ihl = IP6_HLEN;
    if (len < l3 + IP6_HLEN + min_l4 || (ip[0] >> 4) != 6 || ip[6] != proto) return -1;
  } else {
    ihl = (size_t)(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != proto || len < l3 + ihl + min_l4) return -1;
  }
  p->v6 = et == ETH_P_IPV6;
  p->udp = udp;
  const uint8_t* tcp = ip + ihl;
  size_t thl = udp ? UDP_HLEN_ : (size_t)(tcp[12] >> 4) * 4;
  if (thl < min_l4 || len < l3 + ihl + thl) return -1;
  p->l3 = l3;
  p->ihl = ihl;
  p->thl = thl;
  p->hdrs = l3 + ihl + thl;
  p->payload = len - p->hdrs;  // a GSO frame's IP total length may be 0 or stale: trust the read length
  p->mss = mss;
  p->segs = p->payload == 0 ? 1 : (unsigned)((p->payload + mss - 1) / mss);
  return 0;
}

size_t offload_tso_seglen(const tso_plan_t* p, unsigned i) {
  size_t off = (size_t)i * p->mss;
  size_t n = p->payload - off < p->mss ? p->payload - off : p->mss;
  return p->hdrs + n;
}

void offload_tso_fill(const uint8_t* f, const tso_plan_t* p, unsigned i, uint8_t* out) {
  size_t off = (size_t)i * p->mss;
  size_t n = offload_tso_seglen(p, i) - p->hdrs;
  memcpy(out, f, p->hdrs);
  memcpy(out + p->hdrs, f + p->hdrs + off, n);
  uint8_t* ip = out + p->l3;
  uint8_t* tcp = ip + p->ihl;
  if (p->v6) {
    wr16(ip + 4, (uint16_t)(p->thl + n));  // payload length
  } else {
    wr16(ip + 2, (uint16_t)(p->ihl + p->thl + n));
    wr16(ip + 4, (uint16_t)(rd16(ip + 4) + i));  // consecutive IP ids, as the kernel's GSO does
    ip4_checksum(ip, p->ihl);
  }
  if (p->udp) {
    // Each segment a datagram of its own (RFC 768): its length, its checksum (0 is sent as 0xffff).
    uint8_t* udp = tcp;
    wr16(udp + 4, (uint16_t)(UDP_HLEN_ + n));
    wr16(udp + UDP_CHECK_OFF, 0);
    uint64_t acc = p->v6 ? pseudo6(ip, IPPROTO_UDP_, UDP_HLEN_ + n) : pseudo4p(ip, IPPROTO_UDP_, UDP_HLEN_ + n);
    uint16_t c = (uint16_t)~fold(sum16(udp, UDP_HLEN_ + n, acc));
    wr16(udp + UDP_CHECK_OFF, c ? c : 0xffff);
    return;
  }
  wr32(tcp + 4, rd32(tcp + 4) + (uint32_t)off);
  uint8_t flags = tcp[13];
  if (i + 1 < p->segs) flags &= (uint8_t)~(TCP_FIN | TCP_PSH);
  if (i > 0) flags &= (uint8_t)~TCP_CWR;
  tcp[13] = flags;
  wr16(tcp + TCP_CHECK_OFF, 0);
  uint64_t acc = p->v6 ? pseudo6(ip, IPPROTO_TCP_, p->thl + n) : pseudo4(ip, p->thl + n);
  acc = sum16(tcp, p->thl + n, acc);
  wr16(tcp + TCP_CHECK_OFF, (uint16_t)~fold(acc));
}

int offload_tcp4_parse(const uint8_t* f, size_t len, tcp4_seg_t* s) {
  if (len < ETH_HLEN_ + 40 || rd16(f + 12) != ETH_P_IPV4) return 0;
  const uint8_t* ip = f + ETH_HLEN_;
  size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
  if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != IPPROTO_TCP_) return 0;
  if (rd16(ip + 6) & 0x3fff) return 0;  // MF or a fragment offset
  size_t tot = rd16(ip + 2);
  if (tot > len - ETH_HLEN_ || tot < ihl + 20) return 0;
  const uint8_t* tcp = ip + ihl;
  size_t thl = (size_t)(tcp[12] >> 4) * 4;
  if (thl < 20 || ihl + thl >= tot) return 0;  // no payload: nothing to merge
  uint8_t flags = tcp[13];
  if (!(flags & TCP_ACK) || (flags & ~(TCP_ACK | TCP_PSH))) return 0;
  s->ihl = ihl;
  s->thl = thl;
  s->hdrs = ETH_HLEN_ + ihl + thl;
  s->payload = tot - ihl - thl;
  s->seq = rd32(tcp + 4);
  s->flags = flags;
  return 1;
}

int offload_tcp4_continues(const uint8_t* a, const tcp4_seg_t* sa, const uint8_t* b, const tcp4_seg_t* sb, uint32_t next_seq) {
  if (sb->seq != next_seq || sa->ihl != sb->ihl || sa->thl != sb->thl) return 0;
  if (memcmp(a, b, 12)) return 0;  // MAC addresses
  const uint8_t* ia = a + ETH_HLEN_;
  const uint8_t* ib = b + ETH_HLEN_;
  // version/ihl, TOS; DF; TTL, protocol; addresses; options
  if (ia[0] != ib[0] || ia[1] != ib[1] || ia[6] != ib[6] || ia[8] != ib[8] || ia[9] != ib[9]) return 0;
  if (memcmp(ia + 12, ib + 12, 8) || memcmp(ia + 20, ib + 20, sa->ihl - 20)) return 0;
  const uint8_t* ta = ia + sa->ihl;
  const uint8_t* tb = ib + sb->ihl;
  // ports, acknowledgment number, options (timestamps must match, as in Linux GRO)
  if (memcmp(ta, tb, 4) || memcmp(ta + 8, tb + 8, 4) || memcmp(ta + 20, tb + 20, sa->thl - 20)) return 0;
  return 1;
}

void offload_tcp4_merge_header(const uint8_t* first, const tcp4_seg_t* sa, const uint8_t* last, const tcp4_seg_t* sl, size_t total,
                               unsigned mss, uint8_t* out, vnet_hdr_t* vh) {
  memcpy(out, first, sa->hdrs);
  uint8_t* ip = out + ETH_HLEN_;
  uint8_t* tcp = ip + sa->ihl;
  const uint8_t* tl = last + ETH_HLEN_ + sl->ihl;
  wr16(ip + 2, (uint16_t)(sa->ihl + sa->thl + total));
  ip4_checksum(ip, sa->ihl);
  tcp[13] = (uint8_t)(TCP_ACK | (sl->flags & TCP_PSH));
  memcpy(tcp + 14, tl + 14, 2);  // the latest window
  // Partial checksum: the pseudo-header sum; the kernel treats the frame's
  // payload as verified (it was carried under the underlay's UDP checksum).
  wr16(tcp + TCP_CHECK_OFF, fold(pseudo4(ip, sa->thl + total)));
  vh->flags = VNET_F_NEEDS_CSUM;
  vh->gso_type = VNET_GSO_TCPV4;
  vh->hdr_len = (uint16_t)sa->hdrs;
  vh->gso_size = (uint16_t)mss;
  vh->csum_start = (uint16_t)(ETH_HLEN_ + sa->ihl);
  vh->csum_offset = TCP_CHECK_OFF;
}
