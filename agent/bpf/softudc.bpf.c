// SPDX-License-Identifier: GPL-2.0
// The agent's kernel fast path (docs/operations.md "Kernel fast path"): the
// common case of docs/wire.md's FRAMEs, handled by tc-BPF next to the
// devices, with the agent as the only writer of the maps. Every program has
// one job and punts anything unusual to the agent unchanged (TC_ACT_OK), so
// the userspace path sees exactly what it would have seen without them.
//
//  - sd_underlay (tc ingress of the underlay device): a plain FRAME from an
//    admitted host for a (vnet, MAC) of a local TAP guest is decapsulated and
//    redirected to that guest's TAP.
//  - sd_tap (tc ingress of a VM guest's host-side TAP, or of the host end of
//    a namespace guest's veth pair, i.e. frames from the guest): port
//    security, then a unicast destination in the FDB: another local guest
//    (redirect) or a remote host (encapsulated as a FRAME, sent out of the
//    underlay device with the neighbour's L2 header).
//  - sd_underlay_out (tc egress of the underlay device): marks the FRAMEs
//    the agent's own socket sends for an offloaded guest as sd_tap marks its
//    own (outer IPv4 id VETH_MARK), so receivers learn such a guest whichever
//    path carried its frames.
//  - sd_tap_sock (socket filter on the agent's packet socket on that TAP):
//    the agent's socket sees a frame before tc does, so it hides the frames
//    sd_tap forwards; both take the same decision (tap_decide).
//  - sd_gro (tc ingress of the far end of the agent's GRO pair, a veth pair
//    of its own): TCP decapsulated for an offloaded VM's TAP goes through the
//    pair first (sd_underlay), a super-packet to be cut into segments on the
//    near end and merged back by GRO on the far end as a plain TCP
//    super-packet, which the TAP hands to the VM whole; sd_gro sends it on
//    to the TAP its mark names.
//
// Built at install time by scripts/build-bpf.mjs (clang -target bpf).
//
// Over 300 lines: one object from one file, so the programs' shared
// inlined helpers, their maps and the map layouts (mirrored by
// agent/bpf/maps.ts) stay side by side.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define FRAME_KIND 2
#define ETHERIP_WORD 0x3000
#define FRAME_HDR_LEN 10
#define OUTER_LEN (sizeof(struct iphdr) + sizeof(struct udphdr) + FRAME_HDR_LEN) /* 38, docs/wire.md */
#define ENCAP_LEN (OUTER_LEN + ETH_HLEN) /* room added after the outer Ethernet header */
#define DHCP_SERVER_PORT 67
#define DNS_PORT 53

#ifndef BPF_F_ADJ_ROOM_ENCAP_L2_ETH
#define BPF_F_ADJ_ROOM_ENCAP_L2_ETH (1ULL << 6)
#endif

/* FDB entry kinds (agent/bpf/maps.ts). */
#define FDB_TAP 1    /* a local TAP guest on the fast path: ifindex */
#define FDB_REMOTE 2 /* a remote host resolved by VARP: coa, port */
#define FDB_LOCAL 3  /* any other local port (emulated guest, router, userspace VIF) */
#define FDB_VETH 4   /* a namespace guest on the fast path: ifindex of its veth pair's host end */
/* (FDB_TAP and FDB_VETH are "local guests"; FDB_F_GSO on one: it takes partial checksums and super-packets.) */

struct fdb_key {
  __u32 vnet;
  __u8 mac[6];
  __u16 pad;
};

struct fdb_val {
  __u32 kind;
  __u32 ifindex;
  __u32 coa;  /* network order */
  __u16 port; /* network order */
  __u16 flags; /* FDB_F_* */
};

/*
 * The destination takes GSO super-packets and partial checksums. On a local
 * guest: an offloaded guest (below). On FDB_REMOTE: an offloaded guest its
 * host's kernel path delivers into (learned from sd_seen). Without it an
 * offloaded guest's TCP and UDP go to the agent, which completes and
 * segments them: a host that does not decapsulate in its kernel would get
 * unfinished checksums and oversized datagrams on an underlay that keeps
 * offloaded packets as they are (veth, bridges).
 */
#define FDB_F_GSO 1
/*
 * Outer IPv4 id of FRAMEs sent for an offloaded guest (DF is set, so the id
 * is free: RFC 6864): by sd_tap, and by sd_underlay_out for the ones the
 * agent sends on such a guest's behalf.
 */
#define VETH_MARK 0x5dc1

/*
 * A VIF whose device is on the fast path, keyed by the device's ifindex.
 * `offload`: an offloaded guest, which both sends and takes partial
 * checksums and GSO super-packets: a namespace guest's veth, or a VM's TAP
 * attached with the virtio-net header (qemu vnet_hdr=on; tun writes the
 * header for what it hands over, and a redirect to a TAP whose VM did not
 * ask for offloads is completed and segmented by the device's transmit
 * path, validate_xmit_skb).
 */
struct vif_val {
  __u32 vnet;
  __u32 ip; /* network order */
  __u8 mac[6];
  __u16 offload;
};

struct cfg_val {
  __u32 coa;       /* network order */
  __u16 port;      /* network order */
  __u16 pad;
  __u32 ifindex;   /* the underlay device */
  __u32 max_frame; /* largest guest frame (with its Ethernet header) the underlay carries unfragmented */
  __u32 gro_ifindex; /* the near end of the GRO pair (sd_gro), 0 without one */
};

/* Last time a plain FRAME from (vnet, source MAC) came in, and from where: the agent refreshes VARP with it. */
struct seen_val {
  __u64 ns;
  __u32 coa;
  __u32 offload; /* 1: sent for an offloaded guest (outer id VETH_MARK) */
};

/* What a FRAME puts in front of the guest's frame, and that frame's Ethernet header (docs/wire.md). */
struct outer_hdrs {
  struct iphdr ip;
  struct udphdr udp;
  __u16 kind;
  __u16 flags;
  __u16 etherip;
  __u16 vnet_hi;
  __u16 vnet_lo;
  struct ethhdr inner;
} __attribute__((packed));

enum {
  C_RX_DECAP_FRAMES,
  C_RX_DECAP_BYTES,
  C_RX_PUNT,
  C_TX_ENCAP_FRAMES,
  C_TX_ENCAP_BYTES,
  C_TX_LOCAL_FRAMES,
  C_TX_LOCAL_BYTES,
  C_TX_PUNT,
  C_ERRORS,
  C_TX_MARKED,
  C_RX_GRO_IN,
  C_RX_GRO_OUT,
  C_GRO_DROPS,
  C_MAX,
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, struct fdb_key);
  __type(value, struct fdb_val);
} sd_fdb SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, struct vif_val);
} sd_vifs SEC(".maps");

/* Admitted senders (docs/wire.md "Admission"): COA in network order → 1. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32);
  __type(value, __u32);
} sd_peers SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cfg_val);
} sd_cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, struct fdb_key);
  __type(value, struct seen_val);
} sd_seen SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, C_MAX);
  __type(key, __u32);
  __type(value, __u64);
} sd_counters SEC(".maps");

static __always_inline void count(__u32 idx, __u64 n) {
  __u64 *c = bpf_map_lookup_elem(&sd_counters, &idx);
  if (c) *c += n;
}

/*
 * What the kernel carried to and from each remote host, as the agent's own
 * per-peer underlay counters count it (agent/underlay/remotes.ts): datagrams,
 * and their UDP payload (the FRAME header and the guest's frame). The agent
 * adds the deltas to those counters, so per-peer figures hold whichever path
 * carried a packet. LRU: a bounded map that forgets the quietest peer.
 */
struct peer_ctr {
  __u64 tx_datagrams;
  __u64 tx_bytes;
  __u64 rx_datagrams;
  __u64 rx_bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
  __uint(max_entries, 4096);
  __type(key, __u32); /* the remote COA, network order */
  __type(value, struct peer_ctr);
} sd_peer_counters SEC(".maps");

/*
 * The datagrams and UDP payload bytes the guest frame in `skb` (its Ethernet
 * header at offset 0, `len` bytes) stands for on the underlay. A plain frame
 * is one FRAME of FRAME_HDR_LEN + len bytes. A GSO super-packet is cut into
 * segments of gso_size bytes of L4 payload, each behind a copy of the
 * Ethernet, IPv4 and TCP/UDP headers and in its own FRAME: its segments are
 * gso_segs, or (0 after bpf_skb_adjust_room, and on what the underlay
 * delivered whole) the payload divided by gso_size, rounded up.
 */
static __always_inline void wire_size(struct __sk_buff *skb, __u32 len, __u64 *datagrams, __u64 *bytes) {
  *datagrams = 1;
  *bytes = FRAME_HDR_LEN + len;
  __u32 gso = skb->gso_size;
  if (gso == 0) return;
  struct iphdr ip;
  if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof ip) < 0) return;
  __u32 hdr = ETH_HLEN + ip.ihl * 4;
  if (ip.protocol == IPPROTO_TCP) {
    __u8 doff;
    if (bpf_skb_load_bytes(skb, hdr + 12, &doff, 1) < 0) return;
    hdr += (doff >> 4) * 4;
  } else if (ip.protocol == IPPROTO_UDP) {
    hdr += sizeof(struct udphdr);
  } else {
    return;
  }
  if (len <= hdr) return;
  __u32 segs = skb->gso_segs;
  if (segs == 0) segs = (len - hdr + gso - 1) / gso;
  if (segs <= 1) return;
  *datagrams = segs;
  *bytes = (__u64)len + (__u64)segs * FRAME_HDR_LEN + (__u64)(segs - 1) * hdr;
}

static __always_inline void count_peer(__u32 coa, int rx, __u64 datagrams, __u64 bytes) {
  struct peer_ctr *c = bpf_map_lookup_elem(&sd_peer_counters, &coa);
  if (!c) {
    struct peer_ctr zero = {};
    bpf_map_update_elem(&sd_peer_counters, &coa, &zero, BPF_NOEXIST);
    c = bpf_map_lookup_elem(&sd_peer_counters, &coa);
    if (!c) return;
  }
  if (rx) {
    c->rx_datagrams += datagrams;
    c->rx_bytes += bytes;
  } else {
    c->tx_datagrams += datagrams;
    c->tx_bytes += bytes;
  }
}

static __always_inline int is_group(const __u8 *mac) { return mac[0] & 1; }

static __always_inline void mac_copy(__u8 *dst, const __u8 *src) {
  __builtin_memcpy(dst, src, 6);
}

static __always_inline int mac_eq(const __u8 *a, const __u8 *b) {
  __u8 d = 0;
#pragma unroll
  for (int i = 0; i < 6; i++) d |= a[i] ^ b[i];
  return d == 0;
}

static __always_inline int is_guest(__u32 kind) { return kind == FDB_TAP || kind == FDB_VETH; }

/*
 * Whether every frame `skb` stands for fits the underlay: its length, or for
 * a GSO super-packet (a namespace guest's TCP hands over up to 64 KiB at
 * once, and the kernel keeps it whole up to the device) the length of each
 * segment it will be cut into.
 */
static __always_inline int fits(struct __sk_buff *skb, const struct iphdr *ip, __u32 max_frame) {
  if (skb->gso_size == 0) return skb->len <= max_frame;
  __u32 l4 = 0;
  if (ip->protocol == IPPROTO_TCP) {
    __u8 doff;
    if (bpf_skb_load_bytes(skb, ETH_HLEN + ip->ihl * 4 + 12, &doff, 1) < 0) return 0;
    l4 = (doff >> 4) * 4;
  } else if (ip->protocol == IPPROTO_UDP) {
    l4 = sizeof(struct udphdr);
  } else {
    return 0;
  }
  return ETH_HLEN + ip->ihl * 4 + l4 + skb->gso_size <= max_frame;
}

/*
 * Local delivery to a guest: an offloaded guest takes anything; a TAP whose
 * VM exchanges plain frames takes plain frames only (the agent segments a
 * GSO super-packet for it).
 */
static __always_inline int deliverable(struct __sk_buff *skb, const struct fdb_val *e) {
  return e->kind == FDB_VETH || (e->flags & FDB_F_GSO) || skb->gso_size == 0;
}

/*
 * Hands the frame to a local guest: a namespace guest's veth straight into its
 * namespace (the peer's ingress, as a frame for that guest), a VM's TAP
 * through its transmit path.
 */
static __always_inline int to_guest(struct __sk_buff *skb, __u32 kind, __u32 ifindex) {
  if (kind == FDB_VETH) {
    bpf_skb_change_type(skb, 0 /* PACKET_HOST */);
    return bpf_redirect_peer(ifindex, 0);
  }
  return bpf_redirect(ifindex, 0);
}

enum { D_PUNT, D_TAP, D_REMOTE };

/*
 * What the fast path does with a frame from the guest behind TAP `ifindex`:
 * D_PUNT (the agent's switch handles it: anything but plain unicast IPv4
 * that passes port security to a known destination), D_TAP or D_REMOTE.
 */
static __always_inline int tap_decide(struct __sk_buff *skb, struct fdb_val *out, struct vif_val *vif_out) {
  __u32 ifindex = skb->ifindex;
  struct vif_val *vif = bpf_map_lookup_elem(&sd_vifs, &ifindex);
  if (!vif) return D_PUNT;
  __u32 zero = 0;
  struct cfg_val *cfg = bpf_map_lookup_elem(&sd_cfg, &zero);
  if (!cfg || cfg->ifindex == 0) return D_PUNT;
  if (skb->vlan_present) return D_PUNT; /* tagged: the switch checks it behind its tag */
  struct ethhdr eth;
  if (bpf_skb_load_bytes(skb, 0, &eth, sizeof eth) < 0) return D_PUNT;
  if (is_group(eth.h_dest)) return D_PUNT; /* floods and ARP suppression */
  if (!mac_eq(eth.h_source, vif->mac)) return D_PUNT; /* port security: the switch drops and counts it */
  if (eth.h_proto != bpf_htons(ETH_P_IP)) return D_PUNT;
  struct iphdr ip;
  if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof ip) < 0) return D_PUNT;
  if (ip.saddr != vif->ip) return D_PUNT; /* port security again */
  if (!fits(skb, &ip, cfg->max_frame)) return D_PUNT;
  if (ip.protocol == IPPROTO_UDP) {
    /* DHCP and the vnet's resolver are answered next to the port (agent/dhcp/services.ts). */
    struct udphdr udp;
    if (bpf_skb_load_bytes(skb, ETH_HLEN + ip.ihl * 4, &udp, sizeof udp) < 0) return D_PUNT;
    if (udp.dest == bpf_htons(DHCP_SERVER_PORT) || udp.source == bpf_htons(DHCP_SERVER_PORT) || udp.dest == bpf_htons(DNS_PORT))
      return D_PUNT;
  }
  struct fdb_key key = {.vnet = vif->vnet};
  mac_copy(key.mac, eth.h_dest);
  struct fdb_val *e = bpf_map_lookup_elem(&sd_fdb, &key);
  if (!e) return D_PUNT; /* VARP resolves it in userspace */
  if (is_guest(e->kind) && e->ifindex != ifindex) {
    if (!deliverable(skb, e)) return D_PUNT;
    *out = *e;
    return D_TAP;
  }
  if (e->kind == FDB_REMOTE) {
    /*
     * An offloaded guest's kernel leaves TCP and UDP checksums to the device
     * (partial) and hands over super-packets; across an underlay that keeps
     * both as they are (veth, bridges), only a kernel path delivering into an
     * offloaded guest takes them. To any other destination such a frame goes
     * to the agent, which completes and segments it. ICMP carries a complete
     * checksum: it goes, and its mark lets the other side learn.
     */
    /* A super-packet from a TAP not (yet) known as offloaded: its VM attached with vnet_hdr=on since the agent last looked. */
    if (skb->gso_size && !vif->offload) return D_PUNT;
    /*
     * Only TCP super-packets cross in the kernel: the receiving kernel path
     * takes the tunnel's outer headers off but not its GSO state, and a UDP
     * super-packet (UDP_SEGMENT) would then be cut as a tunnel packet
     * (udp4_ufo_fragment), which fails. The agent segments it.
     */
    if (skb->gso_size && ip.protocol != IPPROTO_TCP) return D_PUNT;
    if (vif->offload && !(e->flags & FDB_F_GSO) && (skb->gso_size || ip.protocol != IPPROTO_ICMP)) return D_PUNT;
    if (skb->len - ETH_HLEN + OUTER_LEN + ETH_HLEN > 0xffff) return D_PUNT; /* the outer IPv4 length field */
    *out = *e;
    *vif_out = *vif;
    return D_REMOTE;
  }
  return D_PUNT;
}

SEC("socket")
int sd_tap_sock(struct __sk_buff *skb) {
  struct fdb_val e;
  struct vif_val v;
  /* Only frames the guest sent reach here (the socket ignores its own). */
  return tap_decide(skb, &e, &v) == D_PUNT ? skb->len : 0;
}

static __always_inline __u16 ip_csum(struct iphdr *ip) {
  __u32 sum = 0;
  __u16 *p = (__u16 *)ip;
#pragma unroll
  for (int i = 0; i < (int)(sizeof(*ip) / 2); i++) sum += p[i];
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (__u16)~sum;
}

static __always_inline int encap(struct __sk_buff *skb, const struct fdb_val *e, const struct vif_val *vif) {
  __u32 zero = 0;
  struct cfg_val *cfg = bpf_map_lookup_elem(&sd_cfg, &zero);
  if (!cfg) return -1;
  struct ethhdr inner;
  if (bpf_skb_load_bytes(skb, 0, &inner, sizeof inner) < 0) return -1;
  __u64 flags = BPF_F_ADJ_ROOM_FIXED_GSO | BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 | BPF_F_ADJ_ROOM_ENCAP_L4_UDP |
                BPF_F_ADJ_ROOM_ENCAP_L2_ETH | BPF_F_ADJ_ROOM_ENCAP_L2(ETH_HLEN);
  /* Room after the Ethernet header: outer IPv4, UDP, the FRAME header, and the guest's own Ethernet header. */
  if (bpf_skb_adjust_room(skb, ENCAP_LEN, BPF_ADJ_ROOM_MAC, flags) < 0) return -1;
  struct outer_hdrs h = {};
  __u32 len = skb->len - ETH_HLEN;
  struct iphdr ip = {};
  ip.version = 4;
  ip.ihl = 5;
  ip.tot_len = bpf_htons(len);
  ip.frag_off = bpf_htons(0x4000); /* DF, as the agent's socket sends */
  if (vif->offload) ip.id = bpf_htons(VETH_MARK);
  ip.ttl = 64;
  ip.protocol = IPPROTO_UDP;
  ip.saddr = cfg->coa;
  ip.daddr = e->coa;
  ip.check = ip_csum(&ip);
  h.ip = ip;
  h.udp.source = cfg->port;
  h.udp.dest = e->port;
  h.udp.len = bpf_htons(len - sizeof(struct iphdr));
  h.udp.check = 0; /* IPv4 UDP without checksum: the inner frame carries its own */
  h.kind = bpf_htons(FRAME_KIND);
  h.flags = 0;
  h.etherip = bpf_htons(ETHERIP_WORD);
  h.vnet_hi = bpf_htons(vif->vnet >> 16);
  h.vnet_lo = bpf_htons(vif->vnet & 0xffff);
  h.inner = inner;
  if (bpf_skb_store_bytes(skb, ETH_HLEN, &h, sizeof h, 0) < 0) return -1;
  __u16 proto = bpf_htons(ETH_P_IP);
  if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &proto, sizeof proto, 0) < 0) return -1;
  return 0;
}

SEC("tc")
int sd_tap(struct __sk_buff *skb) {
  struct fdb_val e;
  struct vif_val v;
  int d = tap_decide(skb, &e, &v);
  if (d == D_PUNT) {
    count(C_TX_PUNT, 1);
    return TC_ACT_OK;
  }
  __u32 len = skb->len;
  if (d == D_TAP) {
    count(C_TX_LOCAL_FRAMES, 1);
    count(C_TX_LOCAL_BYTES, len);
    return to_guest(skb, e.kind, e.ifindex);
  }
  /* Measured before encap, which clears gso_segs. */
  __u64 datagrams, bytes;
  wire_size(skb, len, &datagrams, &bytes);
  /* The agent's socket has already hidden this frame: a failure here is a counted drop. */
  if (encap(skb, &e, &v) < 0) {
    count(C_ERRORS, 1);
    return TC_ACT_SHOT;
  }
  __u32 zero = 0;
  struct cfg_val *cfg = bpf_map_lookup_elem(&sd_cfg, &zero);
  if (!cfg) {
    count(C_ERRORS, 1);
    return TC_ACT_SHOT;
  }
  count(C_TX_ENCAP_FRAMES, 1);
  count(C_TX_ENCAP_BYTES, len);
  count_peer(e.coa, 0, datagrams, bytes);
  return bpf_redirect_neigh(cfg->ifindex, NULL, 0, 0);
}

/* A datagram on the underlay device, as far as its first FRAME's inner Ethernet header. */
struct wire_hdrs {
  struct ethhdr eth;
  struct outer_hdrs o;
} __attribute__((packed));

/* Loads `h`: the configuration when it is an untagged IPv4 UDP datagram and the path is set up, else NULL. */
static __always_inline struct cfg_val *load_wire(struct __sk_buff *skb, struct wire_hdrs *h) {
  __u32 zero = 0;
  struct cfg_val *cfg = bpf_map_lookup_elem(&sd_cfg, &zero);
  if (!cfg || skb->vlan_present) return NULL;
  if (bpf_skb_load_bytes(skb, 0, h, sizeof *h) < 0) return NULL;
  if (h->eth.h_proto != bpf_htons(ETH_P_IP) || h->o.ip.ihl != 5 || h->o.ip.protocol != IPPROTO_UDP) return NULL;
  return cfg;
}

/* A FRAME without the SEALED flag (docs/wire.md). */
static __always_inline int plain_frame(const struct wire_hdrs *h) {
  return h->o.kind == bpf_htons(FRAME_KIND) && h->o.flags == 0 && h->o.etherip == bpf_htons(ETHERIP_WORD);
}

SEC("tc")
int sd_underlay(struct __sk_buff *skb) {
  struct wire_hdrs h;
  struct cfg_val *cfg = load_wire(skb, &h);
  if (!cfg) return TC_ACT_OK; /* not ours at all: no count */
  if (h.o.ip.daddr != cfg->coa || h.o.udp.dest != cfg->port) return TC_ACT_OK;
  /* A datagram for the agent: handled here only when it is a plain FRAME for a local TAP guest. */
  struct fdb_key key = {};
  struct fdb_val *e;
  if (h.o.ip.frag_off & bpf_htons(0x3fff)) goto punt;
  if (!plain_frame(&h)) goto punt;
  if (!bpf_map_lookup_elem(&sd_peers, &h.o.ip.saddr)) goto punt; /* not admitted: the agent counts the drop */
  if (is_group(h.o.inner.h_dest) || is_group(h.o.inner.h_source)) goto punt;
  if (h.o.inner.h_proto != bpf_htons(ETH_P_IP)) goto punt;
  key.vnet = ((__u32)bpf_ntohs(h.o.vnet_hi) << 16) | bpf_ntohs(h.o.vnet_lo);
  mac_copy(key.mac, h.o.inner.h_source);
  e = bpf_map_lookup_elem(&sd_fdb, &key);
  /* A source that is a local port: the switch drops it. */
  if (e && e->kind != FDB_REMOTE) goto punt;
  mac_copy(key.mac, h.o.inner.h_dest);
  e = bpf_map_lookup_elem(&sd_fdb, &key);
  if (!e || !is_guest(e->kind)) goto punt;
  __u32 ifindex = e->ifindex;
  __u32 kind = e->kind;
  int take = deliverable(skb, e);
  /* Every TCP frame for an offloaded VM's TAP goes through the GRO pair when there is one (below). */
  int via_pair = kind == FDB_TAP && (e->flags & FDB_F_GSO) && cfg->gro_ifindex;
  /*
   * Remember who spoke, so the agent keeps its VARP entry fresh as a received
   * FRAME would (docs/wire.md), and whether it is an offloaded guest: from
   * the first FRAME of a train too (the agent's socket sends runs of them),
   * as its mark stands for that FRAME's sender.
   */
  mac_copy(key.mac, h.o.inner.h_source);
  __u64 t = bpf_ktime_get_ns();
  struct seen_val *s = bpf_map_lookup_elem(&sd_seen, &key);
  __u32 offload = h.o.ip.id == bpf_htons(VETH_MARK);
  if (!s || s->coa != h.o.ip.saddr || s->offload != offload || t - s->ns > 1000000000ULL) {
    struct seen_val nv = {.ns = t, .coa = h.o.ip.saddr, .offload = offload};
    bpf_map_update_elem(&sd_seen, &key, &nv, BPF_ANY);
  }
  if (bpf_ntohs(h.o.ip.tot_len) + ETH_HLEN != skb->len) goto punt; /* trailing bytes */
  /*
   * One FRAME and nothing else: the inner packet ends where the datagram does.
   * A GRO train of several FRAMEs (a socket with UDP_GRO on the port) has
   * the first one's length here; a guest's GSO super-packet its full length.
   */
  __be16 inner_len;
  if (bpf_skb_load_bytes(skb, sizeof h + offsetof(struct iphdr, tot_len), &inner_len, sizeof inner_len) < 0) goto punt;
  if (bpf_ntohs(inner_len) + sizeof h != skb->len) goto punt;
  __u8 inner_proto;
  if (bpf_skb_load_bytes(skb, sizeof h + offsetof(struct iphdr, protocol), &inner_proto, 1) < 0) goto punt;
  if (!take) goto punt;
  struct ethhdr inner = h.o.inner;
  __u32 len = skb->len;
  __u32 from = h.o.ip.saddr;
  /* FIXED_GSO: a GSO super-packet keeps the guest's segment size. */
  if (bpf_skb_adjust_room(skb, -(__s32)ENCAP_LEN, BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_FIXED_GSO) < 0) goto punt;
  if (bpf_skb_store_bytes(skb, 0, &inner, sizeof inner, 0) < 0) {
    count(C_ERRORS, 1);
    return TC_ACT_SHOT;
  }
  count(C_RX_DECAP_FRAMES, 1);
  count(C_RX_DECAP_BYTES, len - ENCAP_LEN);
  __u64 datagrams, bytes;
  wire_size(skb, len - ENCAP_LEN, &datagrams, &bytes);
  count_peer(from, 1, datagrams, bytes);
  /*
   * A super-packet for a VM's TAP still carries the UDP-tunnel GSO state of
   * its FRAMEs (bpf_skb_adjust_room keeps it on this kernel), which a TAP
   * does not take: its transmit path would cut it into segments for the VM
   * to handle one by one. Through the GRO pair those segments come back
   * merged as a plain TCP super-packet (sd_gro), its TAP in the mark. The
   * flow's single segments take the same way, so none overtakes a
   * super-packet still in the pair. The hash (the inner flow's, mixed with
   * the TAP's ifindex) picks the pair's queue per flow (queue_mapping 0: not
   * the underlay's receive queue) and keeps GRO from merging frames of two
   * TAPs, which compares hashes first.
   */
  if (via_pair && inner_proto == IPPROTO_TCP) {
    bpf_set_hash_invalid(skb);
    bpf_set_hash(skb, bpf_get_hash_recalc(skb) ^ (ifindex * 0x9e3779b1u));
    skb->queue_mapping = 0;
    skb->mark = ifindex;
    count(C_RX_GRO_IN, 1);
    return bpf_redirect(cfg->gro_ifindex, 0);
  }
  return to_guest(skb, kind, ifindex);
punt:
  count(C_RX_PUNT, 1);
  return TC_ACT_OK;
}

/*
 * A FRAME the agent sends (its socket: our COA and port) for a guest that is
 * an offloaded guest on this host's fast path gets the mark sd_tap gives the
 * ones it sends itself: outer IPv4 id VETH_MARK, header checksum updated.
 * The agent sends such a guest's TCP and UDP to destinations not known to
 * take partial checksums (it completes and segments them), so without this
 * two offloaded guests that exchange only TCP would never learn each other.
 * Anything else leaves as it came.
 */
SEC("tc")
int sd_underlay_out(struct __sk_buff *skb) {
  struct wire_hdrs h;
  struct cfg_val *cfg = load_wire(skb, &h);
  if (!cfg) return TC_ACT_OK;
  if (h.o.ip.saddr != cfg->coa || h.o.udp.source != cfg->port || h.o.ip.id == bpf_htons(VETH_MARK)) return TC_ACT_OK;
  if (h.o.ip.frag_off != bpf_htons(0x4000)) return TC_ACT_OK; /* DF and unfragmented, as the agent sends */
  if (!plain_frame(&h)) return TC_ACT_OK;
  struct fdb_key key = {.vnet = ((__u32)bpf_ntohs(h.o.vnet_hi) << 16) | bpf_ntohs(h.o.vnet_lo)};
  mac_copy(key.mac, h.o.inner.h_source);
  struct fdb_val *e = bpf_map_lookup_elem(&sd_fdb, &key);
  if (!e || !is_guest(e->kind) || !(e->flags & FDB_F_GSO)) return TC_ACT_OK;
  __be16 id = bpf_htons(VETH_MARK);
  if (bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct iphdr, id), &id, sizeof id, 0) < 0) return TC_ACT_OK;
  if (bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), h.o.ip.id, id, sizeof id) < 0) {
    /* Back as it came (the same bytes were just written); failing that, the receiver's IP would drop it. */
    if (bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct iphdr, id), &h.o.ip.id, sizeof id, 0) == 0) return TC_ACT_OK;
    count(C_ERRORS, 1);
    return TC_ACT_SHOT;
  }
  count(C_TX_MARKED, 1);
  return TC_ACT_OK;
}

/*
 * What comes out of the GRO pair: TCP sd_underlay sent in (super-packets
 * merged again), for the offloaded VM's TAP its mark names, and addressed to
 * that VM's MAC (the mark is this host's own: it is cleared before the TAP).
 * Anything else on the pair (the kernel's own traffic on a device that is up,
 * a TAP gone since) is dropped and counted.
 */
SEC("tc")
int sd_gro(struct __sk_buff *skb) {
  __u32 ifindex = skb->mark;
  struct vif_val *vif = ifindex ? bpf_map_lookup_elem(&sd_vifs, &ifindex) : NULL;
  __u8 dest[6];
  if (!vif || !vif->offload || bpf_skb_load_bytes(skb, 0, dest, sizeof dest) < 0 || !mac_eq(dest, vif->mac)) {
    count(C_GRO_DROPS, 1);
    return TC_ACT_SHOT;
  }
  skb->mark = 0;
  count(C_RX_GRO_OUT, 1);
  return bpf_redirect(ifindex, 0);
}

char LICENSE[] SEC("license") = "GPL";
