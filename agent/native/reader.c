// Readers: a libuv poll on a TAP or packet-socket descriptor that drains it
// on every wake-up and calls JavaScript once per batch. A batch is one Buffer
// holding every frame, each behind FRAME_HEADROOM spare bytes, plus their
// lengths: one allocation per wake-up rather than one per frame (the
// JavaScript side cuts it into views), and room for the switch to put the
// underlay's FRAME header in front of a frame without copying it.
// Over 300 lines, kept whole: one reader's lifecycle (start, drain, batch hand-over, shutdown, finalize) shares its struct and the offload split of each read.
#define _GNU_SOURCE  // glibc extensions
#include "napi_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>
#include <sys/socket.h>
#include <linux/if_packet.h>
#include <linux/if_ether.h>

#include "offload.h"

// Largest frame one read can return: a 64 KiB GSO frame plus headers. Plain
// TAP frames are at most MTU + 18, but a short read would silently truncate.
#define READ_SCRATCH 65600
// Reads of one wake-up land here first; reading stops when less than one
// more read's worth is left (the level-triggered poll comes back for the rest).
#define READ_ARENA (4 * READ_SCRATCH)
// Spare bytes before every frame of a batch: the size of the FRAME header
// (docs/wire.md "FRAME"), written there when the frame leaves by the underlay.
#define FRAME_HEADROOM 10
// An 802.1Q/802.1ad tag, and the two MAC addresses it follows.
#define VLAN_TAG_BYTES 4
#define ETH_ADDRS_BYTES 12

uint32_t reader_frame_headroom(void) { return FRAME_HEADROOM; }
#define DEFAULT_BATCH 64
#define MAX_BATCH 1024
// A GSO frame of 64 KiB cut at a tiny MSS would be thousands of segments:
// refuse anything the MTU-sized world cannot have produced.
#define MAX_TSO_SEGS 512

// ---------------------------------------------------------------- reader

typedef struct reader {
  uv_poll_t poll;
  napi_env env;
  napi_ref on_frames;  // (batch: Buffer, lengths: Uint32Array, dropped: number) => void
  napi_ref on_error;   // (err: Error) => void
  napi_ref self;       // keeps the JS handle object alive while polling
  napi_async_context async;
  int fd;
  uint32_t batch;
  bool vnet;           // reads carry a virtio-net header (IFF_VNET_HDR)
  bool packet;         // an AF_PACKET socket: VLAN tags come back as auxdata
  bool closing;
  bool closed_fd;
  bool handle_closed;  // libuv is done with `poll`
  bool wrapped;        // the JS handle object still points at us
  unsigned char* scratch;  // READ_ARENA bytes
  struct raw* raws;        // `batch` entries: the reads of one wake-up
} reader_t;

// One read of a wake-up: where it is in the arena and how it becomes frames.
typedef struct raw {
  uint8_t* data;   // the Ethernet frame (behind the virtio header, if any)
  size_t len;
  bool tso;        // a TCPv4 GSO frame, cut by `plan`
  tso_plan_t plan;
} raw_t;

// The struct is freed once both libuv (close callback) and the JS handle
// (finalizer or stopReader) have let go of it.
static void reader_release(reader_t* r) {
  if (r->handle_closed && !r->wrapped) free(r);
}

static void reader_closed(uv_handle_t* h) {
  reader_t* r = (reader_t*)h->data;
  if (!r->closed_fd) close(r->fd);
  r->closed_fd = true;
  free(r->scratch);
  free(r->raws);
  r->scratch = NULL;
  r->raws = NULL;
  r->handle_closed = true;
  reader_release(r);
}

// Stops polling and releases the JS references; the memory goes when libuv
// has closed the handle. Safe to call more than once.
static void reader_shutdown(reader_t* r) {
  if (r->closing) return;
  r->closing = true;
  uv_poll_stop(&r->poll);
  napi_env env = r->env;
  if (r->on_frames) napi_delete_reference(env, r->on_frames);
  if (r->on_error) napi_delete_reference(env, r->on_error);
  if (r->self) napi_delete_reference(env, r->self);
  if (r->async) napi_async_destroy(env, r->async);
  r->on_frames = r->on_error = r->self = NULL;
  r->async = NULL;
  uv_close((uv_handle_t*)&r->poll, reader_closed);
}

static void call_js(reader_t* r, napi_ref fn_ref, size_t argc, napi_value* argv) {
  call_js_ref(r->env, r->async, fn_ref, argc, argv);
}

static void report_error(reader_t* r, int err, const char* what) {
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value error = make_error(env, err, what);
  call_js(r, r->on_error, 1, &error);
  napi_close_handle_scope(env, scope);
}

// Makes sense of one read: plain, or behind a virtio header (a partial
// checksum is completed in place; a TCP GSO frame is planned into MSS-sized
// segments). Returns false when the frame is malformed (dropped).
static bool prepare(reader_t* r, raw_t* w, uint8_t* f, size_t len) {
  w->tso = false;
  if (r->vnet) {
    if (len < VNET_HDR_LEN) return false;
    vnet_hdr_t vh;
    vnet_hdr_decode(f, &vh);
    f += VNET_HDR_LEN;
    len -= VNET_HDR_LEN;
    uint8_t gso = vh.gso_type & (uint8_t)~VNET_GSO_ECN;
    if (gso == VNET_GSO_TCPV4) {
      if (offload_tso_plan(f, len, vh.gso_size, &w->plan) < 0 || w->plan.segs > MAX_TSO_SEGS) return false;
      w->tso = true;
    } else if (gso != VNET_GSO_NONE) {
      return false;  // only TSO4 is offered (TUNSETOFFLOAD)
    } else if ((vh.flags & VNET_F_NEEDS_CSUM) && offload_complete_csum(f, len, vh.csum_start, vh.csum_offset) < 0) {
      return false;
    }
  }
  w->data = f;
  w->len = len;
  return true;
}

// One frame from a packet socket into buf (READ_SCRATCH bytes). The kernel
// takes the outer VLAN tag off every frame it receives and keeps it beside
// the packet; a packet socket hands it over as PACKET_AUXDATA. It is put
// back where it was, so a guest's tagged frame reaches the switch as sent.
static ssize_t read_packet(int fd, uint8_t* buf) {
  union {
    struct cmsghdr align;
    char bytes[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
  } control;
  // Read 4 bytes in, leaving room to reinsert a tag in front of the type.
  struct iovec iov = {.iov_base = buf + VLAN_TAG_BYTES, .iov_len = READ_SCRATCH - VLAN_TAG_BYTES};
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
  bool tagged = aux != NULL && (aux->tp_vlan_tci != 0 || (aux->tp_status & TP_STATUS_VLAN_VALID)) && len >= ETH_ADDRS_BYTES;
  if (!tagged) {
    memmove(buf, buf + VLAN_TAG_BYTES, (size_t)len);
    return len;
  }
  uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux->tp_vlan_tpid : ETH_P_8021Q;
  memmove(buf, buf + VLAN_TAG_BYTES, ETH_ADDRS_BYTES);
  buf[ETH_ADDRS_BYTES] = (uint8_t)(tpid >> 8);
  buf[ETH_ADDRS_BYTES + 1] = (uint8_t)tpid;
  buf[ETH_ADDRS_BYTES + 2] = (uint8_t)(aux->tp_vlan_tci >> 8);
  buf[ETH_ADDRS_BYTES + 3] = (uint8_t)aux->tp_vlan_tci;
  return len + VLAN_TAG_BYTES;
}

static void on_readable(uv_poll_t* handle, int status, int events) {
  reader_t* r = (reader_t*)handle->data;
  if (r->closing) return;
  if (status < 0) {
    report_error(r, -status, "poll");
    reader_shutdown(r);
    return;
  }
  (void)events;
  // Read everything there is (within the batch and the arena) first, so the
  // batch's size is known before its one Buffer is allocated.
  uint32_t nraw = 0, frames = 0, dropped = 0;
  size_t used = 0, total = 0;
  int fatal = 0;
  for (uint32_t reads = 0; reads < r->batch && used + READ_SCRATCH <= READ_ARENA; reads++) {
    ssize_t len = r->packet ? read_packet(r->fd, r->scratch + used) : read(r->fd, r->scratch + used, READ_SCRATCH);
    if (len < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) fatal = errno;
      break;
    }
    if (len == 0) { fatal = ENODEV; break; }
    raw_t* w = &r->raws[nraw];
    if (!prepare(r, w, r->scratch + used, (size_t)len)) {
      dropped++;
      continue;
    }
    used += (size_t)len;
    nraw++;
    if (w->tso) {
      frames += w->plan.segs;
      for (unsigned i = 0; i < w->plan.segs; i++) total += offload_tso_seglen(&w->plan, i) + FRAME_HEADROOM;
    } else {
      frames++;
      total += w->len + FRAME_HEADROOM;
    }
  }
  if (frames > 0 || dropped > 0) {
    napi_env env = r->env;
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    napi_value args[3], lens_ab;
    uint8_t* out = NULL;
    uint32_t* lens = NULL;
    if (napi_create_buffer(env, total, (void**)&out, &args[0]) == napi_ok &&
        napi_create_arraybuffer(env, (size_t)frames * 4, (void**)&lens, &lens_ab) == napi_ok &&
        napi_create_typedarray(env, napi_uint32_array, frames, lens_ab, 0, &args[1]) == napi_ok) {
      uint32_t k = 0;
      size_t off = 0;
      for (uint32_t j = 0; j < nraw; j++) {
        raw_t* w = &r->raws[j];
        if (!w->tso) {
          memcpy(out + off + FRAME_HEADROOM, w->data, w->len);
          lens[k++] = (uint32_t)w->len;
          off += FRAME_HEADROOM + w->len;
          continue;
        }
        for (unsigned i = 0; i < w->plan.segs; i++) {
          size_t seglen = offload_tso_seglen(&w->plan, i);
          offload_tso_fill(w->data, &w->plan, i, out + off + FRAME_HEADROOM);
          lens[k++] = (uint32_t)seglen;
          off += FRAME_HEADROOM + seglen;
        }
      }
      napi_create_uint32(env, dropped, &args[2]);
      call_js(r, r->on_frames, 3, args);
    } else {
      // Out of memory: the frames are lost, counted as malformed ones are.
      napi_value ex;
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) napi_get_and_clear_last_exception(env, &ex);
      napi_value empty, empty_lens, empty_ab;
      napi_create_buffer(env, 0, NULL, &empty);
      napi_create_arraybuffer(env, 0, NULL, &empty_ab);
      napi_create_typedarray(env, napi_uint32_array, 0, empty_ab, 0, &empty_lens);
      args[0] = empty;
      args[1] = empty_lens;
      napi_create_uint32(env, dropped + frames, &args[2]);
      call_js(r, r->on_frames, 3, args);
    }
    napi_close_handle_scope(env, scope);
  }
  if (fatal && !r->closing) {
    // A deleted device (its namespace gone) reads EBADFD: report once, stop.
    report_error(r, fatal, "read");
    reader_shutdown(r);
  }
}

static void reader_finalize(napi_env env, void* data, void* hint) {
  (void)env; (void)hint;
  // Only reachable after shutdown released `self`.
  reader_t* r = (reader_t*)data;
  r->wrapped = false;
  reader_release(r);
}

// startReader(fd, onBatch, onError, batch?, vnetHdr?) → handle. onBatch gets
// (batch: Buffer, lengths: Uint32Array, dropped: number): frame i starts
// FRAME_HEADROOM bytes after the end of frame i - 1 (the first at
// FRAME_HEADROOM). The reader owns the descriptor from now on:
// stopReader(handle) closes it.
napi_value start_reader(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_type(env, "startReader(fd, onFrames, onError, batch?, vnetHdr?)");
  bool vnet = false;
  if (argc > 4) napi_get_value_bool(env, argv[4], &vnet);
  int fd;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  napi_valuetype t1, t2;
  napi_typeof(env, argv[1], &t1);
  napi_typeof(env, argv[2], &t2);
  if (t1 != napi_function || t2 != napi_function) return throw_type(env, "onFrames and onError must be functions");
  uint32_t batch = DEFAULT_BATCH;
  if (argc > 3) {
    napi_valuetype t3;
    napi_typeof(env, argv[3], &t3);
    if (t3 == napi_number) napi_get_value_uint32(env, argv[3], &batch);
  }
  if (batch == 0) batch = 1;
  if (batch > MAX_BATCH) batch = MAX_BATCH;

  uv_loop_t* loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  napi_value handle, resource_name;
  CHECK(napi_create_object(env, &handle));
  CHECK(napi_create_string_utf8(env, "SoftudcTapReader", NAPI_AUTO_LENGTH, &resource_name));
  reader_t* r = calloc(1, sizeof *r);
  if (!r) return throw_errno(env, ENOMEM, "startReader");
  r->scratch = malloc(READ_ARENA);
  r->raws = malloc(sizeof(raw_t) * batch);
  r->env = env;
  r->fd = fd;
  r->batch = batch;
  r->vnet = vnet;
  // A packet socket (a VM's TAP seen from the host side) reports VLAN tags
  // out of band; ask for them. Any other descriptor is read as it is.
  int domain = 0;
  socklen_t dlen = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) == 0 && domain == AF_PACKET) {
    int one = 1;
    r->packet = setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) == 0;
  }
  // Everything JS-side first, so a failure leaves no libuv handle behind.
  if (!r->scratch || !r->raws ||
      napi_create_reference(env, argv[1], 1, &r->on_frames) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &r->on_error) != napi_ok ||
      napi_create_reference(env, handle, 1, &r->self) != napi_ok ||
      napi_async_init(env, handle, resource_name, &r->async) != napi_ok) {
    if (r->on_frames) napi_delete_reference(env, r->on_frames);
    if (r->on_error) napi_delete_reference(env, r->on_error);
    if (r->self) napi_delete_reference(env, r->self);
    free(r->scratch);
    free(r->raws);
    free(r);
    return throw_errno(env, ENOMEM, "startReader");
  }
  int rc = uv_poll_init(loop, &r->poll, fd);
  if (rc == 0) {
    r->poll.data = r;
    rc = uv_poll_start(&r->poll, UV_READABLE, on_readable);
    if (rc < 0) {
      r->closed_fd = true;  // the caller still owns fd after a failed start
      reader_shutdown(r);   // frees once libuv has closed the handle
      return throw_errno(env, -rc, "uv_poll_start");
    }
  } else {
    napi_delete_reference(env, r->on_frames);
    napi_delete_reference(env, r->on_error);
    napi_delete_reference(env, r->self);
    napi_async_destroy(env, r->async);
    free(r->scratch);
    free(r->raws);
    free(r);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  if (napi_wrap(env, handle, r, reader_finalize, NULL, NULL) != napi_ok) {
    r->closed_fd = true;  // the caller keeps the descriptor and closes it (as on the uv_poll_start failure)
    reader_shutdown(r);
    return throw_errno(env, ENOMEM, "napi_wrap");
  }
  r->wrapped = true;
  CHECK(napi_type_tag_object(env, handle, &TAP_READER_TAG));
  return handle;
}

// stopReader(handle): stops polling and closes the descriptor. Idempotent.
napi_value stop_reader(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "stopReader(handle)");
  reader_t* r = NULL;
  if (!check_tag(env, argv[0], &TAP_READER_TAG, "not a TAP reader handle")) return NULL;
  // Already stopped (the wrap is removed on the first call): nothing to do.
  if (napi_unwrap(env, argv[0], (void**)&r) != napi_ok || r == NULL) return NULL;
  napi_remove_wrap(env, argv[0], NULL);
  r->wrapped = false;
  if (r->closing) reader_release(r);  // stopped earlier by a read error
  else reader_shutdown(r);
  return NULL;
}

