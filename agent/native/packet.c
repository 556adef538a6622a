// Packet sockets on the host side of a VM's TAP: opening one (with the
// virtio-net header, PACKET_VNET_HDR, so a VM's checksum-offloaded and GSO
// frames arrive with what is needed to complete them), reading a frame with
// its VLAN tag put back, and the kernel's count of frames it dropped because
// the socket's receive buffer was full (PACKET_STATISTICS).
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

// The kernel takes the outer VLAN tag off every frame it receives and keeps
// it beside the packet; a packet socket hands it over as PACKET_AUXDATA. It
// is put back where it was, so a guest's tagged frame reaches the switch as
// sent. With the virtio header, the header stays in front and its checksum
// offset moves with the frame's bytes.
ssize_t read_packet(int fd, uint8_t* buf, size_t cap, bool vnet) {
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
  } control;
  // Read 4 bytes in, leaving room to reinsert a tag in front of the type.
  struct iovec iov = {.iov_base = buf + VLAN_TAG_BYTES, .iov_len = cap - VLAN_TAG_BYTES};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof control.bytes;
  ssize_t len = recvmsg(fd, &msg, 0);
  if (len < 0) return len;
  const struct tpacket_auxdata* aux = NULL;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA && c->cmsg_len >= CMSG_LEN(sizeof *aux))
      aux = (const struct tpacket_auxdata*)CMSG_DATA(c);
  }
  size_t pre = vnet ? VNET_HDR_LEN : 0;
  bool tagged = aux != NULL && (aux->tp_vlan_tci != 0 || (aux->tp_status & TP_STATUS_VLAN_VALID)) && (size_t)len >= pre + ETH_ADDRS_BYTES;
  if (!tagged) {
    memmove(buf, buf + VLAN_TAG_BYTES, (size_t)len);
    return len;
  }
  uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux->tp_vlan_tpid : ETH_P_8021Q;
  memmove(buf, buf + VLAN_TAG_BYTES, pre + ETH_ADDRS_BYTES);
  uint8_t* tag = buf + pre + ETH_ADDRS_BYTES;
  tag[0] = (uint8_t)(tpid >> 8);
  tag[1] = (uint8_t)tpid;
  tag[2] = (uint8_t)(aux->tp_vlan_tci >> 8);
  tag[3] = (uint8_t)aux->tp_vlan_tci;
  if (vnet) {
    vnet_hdr_t vh;
    vnet_hdr_decode(buf, &vh);
    if (vh.flags & VNET_F_NEEDS_CSUM) vh.csum_start = (uint16_t)(vh.csum_start + VLAN_TAG_BYTES);
    if (vh.hdr_len) vh.hdr_len = (uint16_t)(vh.hdr_len + VLAN_TAG_BYTES);
    vnet_hdr_encode(&vh, buf);
  }
  return len + VLAN_TAG_BYTES;
}
