// The underlay's batched UDP socket (udp.c, udp_reader.c): limits shared by
// the send and receive sides.
#ifndef SOFTUDC_UDP_H
#define SOFTUDC_UDP_H

#include <netinet/udp.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
// linux/udp.h; glibc's netinet/udp.h has them since 2.29.
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

// Messages per sendmmsg call (the kernel takes at most UIO_MAXIOV = 1024)
// and iovecs for them: one per datagram.
#define SEND_MSGS 256
#define SEND_IOVS 1024
// Segments in one GSO message: UDP_MAX_SEGMENTS was 64 until Linux 6.x
// raised it to 128; 64 works everywhere.
#define GSO_MAX_SEGS 64
// 65535 - 20 (IPv4 header) - 8 (UDP header).
#define UDP_MAX_PAYLOAD 65507
// Bytes of datagrams in one GSO message. A device takes a GSO packet whole
// only while it stays under its gso_max_size (64 KiB by default) with the
// IP, UDP and link-layer headers counted; a larger one is cut in software
// before it reaches the device, which is what GSO is meant to avoid.
#define GSO_MAX_BYTES 64000

#endif
