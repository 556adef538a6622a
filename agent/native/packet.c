// Packet sockets on the host side of a VM's TAP: opening one (with the
// virtio-net header, PACKET_VNET_HDR, so a VM's checksum-offloaded and GSO
// frames arrive with what is needed to complete them), reading frames in
// batches (recvmmsg) with their VLAN tags put back, and the kernel's count
// of frames it dropped because the socket's receive buffer was full
// (PACKET_STATISTICS).
#define _GNU_SOURCE  // glibc extensions
#include "napi_util.h"
#include "packet.h"
#include "offload.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23  // linux/if_packet.h, kernel 4.20
#endif

// An 802.1Q/802.1ad tag, and the two MAC addresses it follows.
#define VLAN_TAG_BYTES 4
#define ETH_ADDRS_BYTES 12
// Receive buffer asked for: a VM sends in bursts of up to 64 KiB GSO frames,
// and the kernel's default (about 208 KiB) overflows within one burst.
#define PACKET_RCVBUF (8 << 20)
#define PACKET_SNDBUF (4 << 20)

// Asks for `bytes` of buffer, beyond net.core.[rw]mem_max when the agent may
// (CAP_NET_ADMIN), else as much as the limit allows.
static void set_buf(int fd, int force_opt, int opt, int bytes) {
  if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof bytes) < 0) setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes);
}

// openPacket(ifname: string, vnetHdr?: boolean) → fd: an AF_PACKET socket
// bound to the interface, used on the host side of a TAP that a VM holds. Our
// own transmissions are not looped back (PACKET_IGNORE_OUTGOING). With
// `vnetHdr` every read and write carries a virtio-net header.
napi_value open_packet(napi_env env, napi_callback_info info) {
  size_t argc, len;
  napi_value argv[2];
  char name[IFNAMSIZ] = {0};
  if (!get_args_ifname(env, info, 2, argv, &argc, name, &len)) return NULL;
  bool vnet = false;
  if (argc > 1) napi_get_value_bool(env, argv[1], &vnet);
  unsigned idx = if_nametoindex(name);
  if (idx == 0) return throw_errno(env, errno, "if_nametoindex");
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return throw_errno(env, errno, "socket(AF_PACKET)");
  int one = 1;
  const char* what = NULL;
  if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) what = "PACKET_IGNORE_OUTGOING";
  else if (vnet && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) what = "PACKET_VNET_HDR";
  if (what) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, what);
  }
  set_buf(fd, SO_RCVBUFFORCE, SO_RCVBUF, PACKET_RCVBUF);
  set_buf(fd, SO_SNDBUFFORCE, SO_SNDBUF, PACKET_SNDBUF);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = (int)idx;
  if (bind(fd, (struct sockaddr*)&sll, sizeof sll) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "bind(AF_PACKET)");
  }
  napi_value jfd;
  CHECK(napi_create_int32(env, fd, &jfd));
  return jfd;
}

uint32_t packet_drops(int fd) {
  struct tpacket_stats st;
  socklen_t len = sizeof st;
  // Reading the statistics resets them: each call returns the drops since the last.
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) return 0;
  return st.tp_drops;
}

// Batched reads (recvmmsg(2)): frame k of a call lands VLAN_TAG_BYTES into
// its slot, slot k of `area`, leaving room to put a tag back in front of its
// type. packet_take then moves it to where the caller wants it.
int read_packets(int fd, packet_batch_t* b, uint8_t* area, size_t slot, unsigned n) {
  if (n > PACKET_BATCH_MAX) n = PACKET_BATCH_MAX;
  memset(b->msgs, 0, sizeof b->msgs[0] * n);
  for (unsigned k = 0; k < n; k++) {
    b->iov[k].iov_base = area + (size_t)k * slot + VLAN_TAG_BYTES;
    b->iov[k].iov_len = slot - VLAN_TAG_BYTES;
    b->msgs[k].msg_hdr.msg_iov = &b->iov[k];
    b->msgs[k].msg_hdr.msg_iovlen = 1;
    b->msgs[k].msg_hdr.msg_control = b->control[k].bytes;
    b->msgs[k].msg_hdr.msg_controllen = sizeof b->control[k].bytes;
  }
  return recvmmsg(fd, b->msgs, n, 0, NULL);
}

// The kernel takes the outer VLAN tag off every frame it receives and keeps
// it beside the packet; a packet socket hands it over as PACKET_AUXDATA. It
// is put back where it was, so a guest's tagged frame reaches the switch as
// sent. With the virtio header, the header stays in front and its checksum
// offset moves with the frame's bytes. Frame k of the last read_packets goes
// to `dst` (at or before where it was read, never after); returns its
// length, or -1 when the frame did not fit its slot (truncated: the caller
// drops it).
ssize_t packet_take(packet_batch_t* b, unsigned k, uint8_t* dst, bool vnet) {
  struct msghdr* msg = &b->msgs[k].msg_hdr;
  const uint8_t* src = (const uint8_t*)msg->msg_iov[0].iov_base;
  size_t len = b->msgs[k].msg_len;
  if (msg->msg_flags & MSG_TRUNC) return -1;
  const struct tpacket_auxdata* aux = NULL;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA && c->cmsg_len >= CMSG_LEN(sizeof *aux))
      aux = (const struct tpacket_auxdata*)CMSG_DATA(c);
  }
  size_t pre = vnet ? VNET_HDR_LEN : 0;
  bool tagged = aux != NULL && (aux->tp_vlan_tci != 0 || (aux->tp_status & TP_STATUS_VLAN_VALID)) && len >= pre + ETH_ADDRS_BYTES;
  if (!tagged) {
    memmove(dst, src, len);
    return (ssize_t)len;
  }
  uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux->tp_vlan_tpid : ETH_P_8021Q;
  uint16_t tci = aux->tp_vlan_tci;
  // The virtio header and addresses are kept aside (moving the rest may
  // overwrite them), the rest moves behind the tag's place, then they go back
  // in front of it.
  uint8_t head[VNET_HDR_LEN + ETH_ADDRS_BYTES];
  memcpy(head, src, pre + ETH_ADDRS_BYTES);
  memmove(dst + pre + ETH_ADDRS_BYTES + VLAN_TAG_BYTES, src + pre + ETH_ADDRS_BYTES, len - pre - ETH_ADDRS_BYTES);
  memcpy(dst, head, pre + ETH_ADDRS_BYTES);
  uint8_t* tag = dst + pre + ETH_ADDRS_BYTES;
  tag[0] = (uint8_t)(tpid >> 8);
  tag[1] = (uint8_t)tpid;
  tag[2] = (uint8_t)(tci >> 8);
  tag[3] = (uint8_t)tci;
  if (vnet) {
    vnet_hdr_t vh;
    vnet_hdr_decode(dst, &vh);
    if (vh.flags & VNET_F_NEEDS_CSUM) vh.csum_start = (uint16_t)(vh.csum_start + VLAN_TAG_BYTES);
    if (vh.hdr_len) vh.hdr_len = (uint16_t)(vh.hdr_len + VLAN_TAG_BYTES);
    vnet_hdr_encode(&vh, dst);
  }
  return (ssize_t)(len + VLAN_TAG_BYTES);
}
