// Packet sockets on the host side of a VM's TAP (packet.c).
#ifndef SOFTUDC_PACKET_H
#define SOFTUDC_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// One frame (behind its virtio header with `vnet`) into buf, `cap` bytes,
// its VLAN tag put back from the socket's metadata. Returns the length, or
// -1 with errno.
ssize_t read_packet(int fd, uint8_t* buf, size_t cap, bool vnet);
// Frames the kernel dropped for a full receive buffer since the last call.
uint32_t packet_drops(int fd);

#endif
