// TCP segmentation and coalescing for TAP devices opened with IFF_VNET_HDR
// (the virtio-net header, struct virtio_net_hdr in linux/virtio_net.h).
// Pure functions over byte buffers: no N-API, no system calls.
#ifndef SOFTUDC_OFFLOAD_H
#define SOFTUDC_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

// struct virtio_net_hdr without the num_buffers field: 10 bytes, the TAP
// default (TUNSETVNETHDRSZ). Multi-byte fields are little-endian.
#define VNET_HDR_LEN 10
#define VNET_F_NEEDS_CSUM 1
#define VNET_GSO_NONE 0
#define VNET_GSO_TCPV4 1
#define VNET_GSO_TCPV6 4
#define VNET_GSO_UDP_L4 5  // USO: a UDP datagram cut into gso_size-byte datagrams
#define VNET_GSO_ECN 0x80

typedef struct vnet_hdr {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
} vnet_hdr_t;

void vnet_hdr_decode(const uint8_t* p, vnet_hdr_t* h);
void vnet_hdr_encode(const vnet_hdr_t* h, uint8_t* p);

// Completes a partial checksum in place (NEEDS_CSUM): the field at
// start+offset holds the pseudo-header sum. Returns 0, or -1 when the offsets
// do not fit the frame.
int offload_complete_csum(uint8_t* frame, size_t len, unsigned start, unsigned offset);

// A TCP GSO frame (IPv4, or IPv6 without extension headers) split into
// MSS-sized segments; or, with `udp`, a UDP one (USO) into datagrams of
// gso_size payload bytes each.
typedef struct tso_plan {
  size_t l3;        // offset of the IP header (14, or 18 behind one VLAN tag)
  size_t ihl;       // IP header length (40 for IPv6)
  int v6;
  int udp;
  size_t thl;       // TCP header length (8: UDP's)
  size_t hdrs;      // l3 + ihl + thl
  size_t payload;   // TCP payload bytes in the GSO frame
  size_t mss;
  unsigned segs;
} tso_plan_t;

// Validates a GSO frame and plans its segments. Returns 0 or -1 (malformed).
int offload_tso_plan(const uint8_t* frame, size_t len, unsigned mss, int udp, tso_plan_t* plan);
size_t offload_tso_seglen(const tso_plan_t* plan, unsigned i);
// Writes segment i (offload_tso_seglen bytes) to `out`, checksums complete.
void offload_tso_fill(const uint8_t* frame, const tso_plan_t* plan, unsigned i, uint8_t* out);

// A plain TCPv4 segment that coalescing may merge (no VLAN, no fragment,
// only ACK/PSH flags, some payload).
typedef struct tcp4_seg {
  size_t ihl, thl, hdrs, payload;
  uint32_t seq;
  uint8_t flags;
} tcp4_seg_t;

// Returns 1 and fills `s` when the frame is a mergeable TCPv4 segment.
int offload_tcp4_parse(const uint8_t* f, size_t len, tcp4_seg_t* s);
// Returns 1 when `b` continues the run that starts with `a` (same flow and
// headers, sequence `next_seq`).
int offload_tcp4_continues(const uint8_t* a, const tcp4_seg_t* sa, const uint8_t* b, const tcp4_seg_t* sb, uint32_t next_seq);
// Builds the header of the merged frame (sa->hdrs + 14 bytes) into `out` and
// the virtio header that tells the kernel it is one GSO frame of `total`
// payload bytes cut at `mss`. `last` supplies the window and PSH.
void offload_tcp4_merge_header(const uint8_t* first, const tcp4_seg_t* sa, const uint8_t* last, const tcp4_seg_t* sl, size_t total,
                               unsigned mss, uint8_t* out, vnet_hdr_t* vh);

#endif
