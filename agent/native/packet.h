// Packet sockets on the host side of a VM's TAP (packet.c).
#ifndef SOFTUDC_PACKET_H
#define SOFTUDC_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <linux/if_packet.h>

// Frames one read_packets call takes at most.
#define PACKET_BATCH_MAX 64

// The messages of one batched read and their metadata (the VLAN tag).
typedef struct packet_batch {
  struct mmsghdr msgs[PACKET_BATCH_MAX];
  struct iovec iov[PACKET_BATCH_MAX];
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
  } control[PACKET_BATCH_MAX];
} packet_batch_t;

// Reads up to `n` frames (behind their virtio header with PACKET_VNET_HDR)
// in one recvmmsg(2), frame k into slot k of `area` (`slot` bytes each).
// Returns how many, or -1 with errno (as recvmmsg).
int read_packets(int fd, packet_batch_t* b, uint8_t* area, size_t slot, unsigned n);
// Moves frame k of the last read to `dst` (not after its slot's start) with
// its VLAN tag put back from the socket's metadata. Returns the length, or
// -1 when it was truncated.
ssize_t packet_take(packet_batch_t* b, unsigned k, uint8_t* dst, bool vnet);
// Frames the kernel dropped for a full receive buffer since the last call.
uint32_t packet_drops(int fd);

#endif
