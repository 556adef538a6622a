// Writes to TAP devices and packet sockets: one frame per write(2), or a
// batch (on a packet socket, sendmmsg(2) calls of up to 64 messages; on a
// TAP's descriptor, one write each); with the virtio-net header, runs of TCP
// segments of one flow are coalesced into one GSO message (offload.c).
#define _GNU_SOURCE  // glibc extensions
#include "napi_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "offload.h"

// Coalescing: at most this many segments in one merged frame, whose IPv4
// total length stays within 65535 (RFC 791).
#define MAX_MERGE 64
#define IP_MAX_TOTAL 65535

// ---------------------------------------------------------------- write

// One frame per write(2): TAP and packet sockets both keep frame boundaries.
// With the virtio header the frame goes behind a zero header (no offload).
// Returns 0 when sent, or the errno (EAGAIN when the queue is full).
static const uint8_t zero_vnet_hdr[VNET_HDR_LEN] = {0};

static int writev_all(int fd, const struct iovec* iov, int n) {
  for (;;) {
    ssize_t w = writev(fd, iov, n);
    if (w >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

static int write_frame(int fd, const void* data, size_t len, bool vnet) {
  struct iovec iov[2] = {{(void*)zero_vnet_hdr, VNET_HDR_LEN}, {(void*)data, len}};
  return vnet ? writev_all(fd, iov, 2) : writev_all(fd, iov + 1, 1);
}

// Errors after which every later write fails as well.
static bool fatal_write_error(int err) { return err == EBADF || err == EBADFD || err == ENODEV; }

// write(fd, frame: Buffer, vnetHdr?) → true when sent, false when the device
// queue is full or the device is down (EAGAIN/ENOBUFS/EIO: the caller counts
// a drop); throws on other errors.
napi_value write_one(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 2) return throw_type(env, "write(fd, frame)");
  if (!get_fd(env, argv[0], &fd)) return NULL;
  void* data;
  size_t len;
  bool is_buf = false, vnet = false;
  napi_is_buffer(env, argv[1], &is_buf);
  if (!is_buf) return throw_type(env, "frame must be a Buffer");
  if (argc > 2) napi_get_value_bool(env, argv[2], &vnet);
  CHECK(napi_get_buffer_info(env, argv[1], &data, &len));
  int err = write_frame(fd, data, len, vnet);
  napi_value result;
  if (err == EAGAIN || err == ENOBUFS || err == EIO) {
    CHECK(napi_get_boolean(env, false, &result));
    return result;
  }
  if (err) return throw_errno(env, err, "write");
  CHECK(napi_get_boolean(env, true, &result));
  return result;
}

typedef struct frame_ref {
  uint8_t* data;
  size_t len;
} frame_ref_t;

// Header bytes a message may need of its own: the virtio-net header and,
// for a coalesced run, the run's merged Ethernet/IP/TCP headers.
typedef struct msg_buf {
  uint8_t vh[VNET_HDR_LEN];
  uint8_t hdr[14 + 60 + 60];
} msg_buf_t;

// Plans frames[i..lim) as one message: a coalesced run when consecutive
// frames are segments of one TCP flow (with the virtio header), else frame
// i alone. Fills `iov` (room for MAX_MERGE + 2) and *niov; returns how many
// frames the message carries.
static uint32_t plan_message(const frame_ref_t* fr, uint32_t i, uint32_t lim, bool vnet, msg_buf_t* b, struct iovec* iov, int* niov) {
  if (!vnet) {
    iov[0].iov_base = fr[i].data;
    iov[0].iov_len = fr[i].len;
    *niov = 1;
    return 1;
  }
  tcp4_seg_t first, cur;
  uint32_t j = i + 1;
  size_t total = 0;
  if (offload_tcp4_parse(fr[i].data, fr[i].len, &first) && !(first.flags & 0x08 /* PSH ends a run */)) {
    size_t mss = first.payload;
    uint32_t next = first.seq + (uint32_t)first.payload;
    tcp4_seg_t last = first;
    total = first.payload;
    while (j < lim && j - i < MAX_MERGE) {
      if (!offload_tcp4_parse(fr[j].data, fr[j].len, &cur) || cur.payload > mss) break;
      if (!offload_tcp4_continues(fr[i].data, &first, fr[j].data, &cur, next)) break;
      if (first.ihl + first.thl + total + cur.payload > IP_MAX_TOTAL) break;
      total += cur.payload;
      next += (uint32_t)cur.payload;
      last = cur;
      j++;
      if ((cur.flags & 0x08) || cur.payload < mss) break;  // the run's last segment
    }
    if (j - i >= 2) {
      vnet_hdr_t vh;
      offload_tcp4_merge_header(fr[i].data, &first, fr[j - 1].data, &last, total, (unsigned)mss, b->hdr, &vh);
      vnet_hdr_encode(&vh, b->vh);
      iov[0].iov_base = b->vh;
      iov[0].iov_len = VNET_HDR_LEN;
      iov[1].iov_base = b->hdr;
      iov[1].iov_len = first.hdrs;
      for (uint32_t k = i; k < j; k++) {
        // Every segment of the run has the same header length as the first.
        iov[2 + k - i].iov_base = fr[k].data + first.hdrs;
        iov[2 + k - i].iov_len = (k == i ? first.payload : (k == j - 1 ? last.payload : mss));
      }
      *niov = (int)(2 + j - i);
      return j - i;
    }
  }
  iov[0].iov_base = (void*)zero_vnet_hdr;
  iov[0].iov_len = VNET_HDR_LEN;
  iov[1].iov_base = fr[i].data;
  iov[1].iov_len = fr[i].len;
  *niov = 2;
  return 1;
}

// Frames planned and handed to the kernel per sendmmsg(2) call.
#define SEND_CHUNK 64

// A packet socket takes the batch in sendmmsg(2) calls of up to SEND_CHUNK
// messages (a coalesced run or one frame each). A message the kernel
// refuses (full queue, runt, device down) is skipped, as one write would
// be, and the call resumes after it. Adds what went to *sent; returns 0, the
// fatal errno, or ENOTSOCK before sending anything when `fd` is no socket
// (a TAP's own descriptor: the caller writes frame by frame).
static int send_batch(int fd, const frame_ref_t* fr, uint32_t n, bool vnet, uint32_t* sent) {
  struct mmsghdr msgs[SEND_CHUNK];
  struct iovec iovs[SEND_CHUNK * 3];  // every frame once, and two header pieces per message
  msg_buf_t bufs[SEND_CHUNK];
  uint32_t carried[SEND_CHUNK];
  uint32_t i = 0;
  while (i < n) {
    uint32_t lim = n - i > SEND_CHUNK ? i + SEND_CHUNK : n;
    unsigned m = 0, iv = 0;
    memset(msgs, 0, sizeof msgs);
    while (i < lim) {
      int niov = 0;
      carried[m] = plan_message(fr, i, lim, vnet, &bufs[m], &iovs[iv], &niov);
      msgs[m].msg_hdr.msg_iov = &iovs[iv];
      msgs[m].msg_hdr.msg_iovlen = (size_t)niov;
      iv += (unsigned)niov;
      i += carried[m];
      m++;
    }
    unsigned k = 0;
    while (k < m) {
      int r = sendmmsg(fd, msgs + k, m - k, 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        if (errno == ENOTSOCK) return ENOTSOCK;  // only ever on the first call
        if (fatal_write_error(errno)) return errno;
        k++;  // this message is refused: the caller counts it as dropped
        continue;
      }
      for (unsigned j = k; j < k + (unsigned)r; j++) *sent += carried[j];
      k += (unsigned)r;
    }
  }
  return 0;
}

// writeBatch(fd, frames: Buffer[], vnetHdr?) → number of frames sent. A frame
// the kernel refuses (EINVAL for a runt, a full queue, a down device) is
// skipped and not counted; the caller counts the difference as drops. Throws
// only on errors that make every later write fail too. With the virtio
// header, runs of TCP segments of one flow go to the kernel as one GSO frame.
// A TAP's descriptor that is not a socket costs one failed sendmmsg per batch.
napi_value write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 2) return throw_type(env, "writeBatch(fd, frames)");
  if (!get_fd(env, argv[0], &fd)) return NULL;
  bool is_array = false, vnet = false;
  napi_is_array(env, argv[1], &is_array);
  if (!is_array) return throw_type(env, "frames must be an array of Buffers");
  if (argc > 2) napi_get_value_bool(env, argv[2], &vnet);
  uint32_t count;
  CHECK(napi_get_array_length(env, argv[1], &count));
  frame_ref_t stack_refs[256];
  frame_ref_t* fr = count <= 256 ? stack_refs : malloc(sizeof(frame_ref_t) * count);
  if (!fr) return throw_errno(env, ENOMEM, "writeBatch");
  uint32_t n = 0;
  for (uint32_t i = 0; i < count; i++) {
    napi_value el;
    bool is_buf = false;
    if (napi_get_element(env, argv[1], i, &el) != napi_ok) continue;
    napi_is_buffer(env, el, &is_buf);
    if (!is_buf) continue;
    void* data;
    size_t len;
    if (napi_get_buffer_info(env, el, &data, &len) != napi_ok) continue;
    fr[n].data = data;
    fr[n].len = len;
    n++;
  }
  uint32_t sent = 0, i = 0;
  int fatal = send_batch(fd, fr, n, vnet, &sent);
  // A TAP's descriptor: one write(2) per message.
  while (fatal == ENOTSOCK && i < n) {
    msg_buf_t b;
    struct iovec iov[MAX_MERGE + 2];
    int niov = 0, err;
    uint32_t used = plan_message(fr, i, n, vnet, &b, iov, &niov);
    err = writev_all(fd, iov, niov);
    if (err == 0) sent += used;
    else if (fatal_write_error(err)) {
      fatal = err;
      break;
    }
    i += used;
  }
  if (fatal == ENOTSOCK) fatal = 0;
  if (fr != stack_refs) free(fr);
  if (fatal) return throw_errno(env, fatal, "write");
  napi_value result;
  CHECK(napi_create_uint32(env, sent, &result));
  return result;
}

