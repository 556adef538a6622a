// Readers: a libuv poll on a TAP or packet-socket descriptor that drains it
// on every wake-up and calls JavaScript once per batch. A batch is one Buffer
// holding every frame, each behind FRAME_HEADROOM spare bytes, plus their
// lengths: one allocation per wake-up rather than one per frame (the
// JavaScript side cuts it into views), and room for the switch to put the
// underlay's FRAME header in front of a frame without copying it.
// Over 300 lines: the reader's life (start, drain and hand over, stop, free
// once libuv and JavaScript have both let go) is one state machine, read
// best in one place; reading a packet socket lives in packet.c.
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
#include "packet.h"

// Largest frame one read can return: a 64 KiB GSO frame plus headers. Plain
// TAP frames are at most MTU + 18, but a short read would silently truncate.
#define READ_SCRATCH 65600
// Reads of one wake-up land here first; reading stops when less than one
// more read's worth is left (the level-triggered poll comes back for the rest).
// A packet socket's batched reads need a read's worth per message, so its
// arena is larger: 16 of them (1 MiB per VM); each recvmmsg reads into as
// many as are left behind the frames kept so far.
#define READ_ARENA (4 * READ_SCRATCH)
#define PACKET_READ_ARENA (16 * READ_SCRATCH)
// Spare bytes before every frame of a batch: the size of the FRAME header
// (docs/wire.md "FRAME"), written there when the frame leaves by the underlay.
#define FRAME_HEADROOM 10

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
  napi_ref on_frames;  // (batch: Buffer, lengths: Uint32Array, dropped: number, overruns: number) => void
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
  unsigned char* scratch;  // `arena` bytes
  size_t arena;
  struct raw* raws;        // `batch` entries: the reads of one wake-up
  packet_batch_t* mmsg;    // a packet socket's batched reads
} reader_t;

// One read of a wake-up: where it is in the arena and how it becomes frames.
typedef struct raw {
  uint8_t* data;   // the Ethernet frame (behind the virtio header, if any)
  size_t len;
  bool tso;        // a TCP or UDP GSO frame, cut by `plan`
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
  free(r->mmsg);
  r->scratch = NULL;
  r->raws = NULL;
  r->mmsg = NULL;
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
// checksum is completed in place; a TCP or UDP GSO frame is planned into
// MSS-sized segments or gso_size-sized datagrams). Returns false when the frame is malformed (dropped).
static bool prepare(reader_t* r, raw_t* w, uint8_t* f, size_t len) {
  w->tso = false;
  if (r->vnet) {
    if (len < VNET_HDR_LEN) return false;
    vnet_hdr_t vh;
    vnet_hdr_decode(f, &vh);
    f += VNET_HDR_LEN;
    len -= VNET_HDR_LEN;
    uint8_t gso = vh.gso_type & (uint8_t)~VNET_GSO_ECN;
    if (gso == VNET_GSO_TCPV4 || gso == VNET_GSO_TCPV6 || gso == VNET_GSO_UDP_L4) {
      if (offload_tso_plan(f, len, vh.gso_size, gso == VNET_GSO_UDP_L4, &w->plan) < 0 || w->plan.segs > MAX_TSO_SEGS) return false;
      w->tso = true;
    } else if (gso != VNET_GSO_NONE) {
      return false;  // UFO (fragments) or unknown: counted
    } else if ((vh.flags & VNET_F_NEEDS_CSUM) && offload_complete_csum(f, len, vh.csum_start, vh.csum_offset) < 0) {
      return false;
    }
  }
  w->data = f;
  w->len = len;
  return true;
}

// What the reads of one wake-up gave: the frames kept (r->raws[0..nraw),
// packed from the arena's start), the frames they become once segmented and
// the bytes they need in the batch, what was dropped, and the error that ends
// the reader.
typedef struct drain {
  uint32_t nraw, frames, dropped;
  size_t used, total;
  int fatal;
} drain_t;

// Takes the read of `len` bytes at r->scratch + d->used into the batch, or
// counts it as dropped when it is malformed.
static void keep(reader_t* r, drain_t* d, size_t len) {
  raw_t* w = &r->raws[d->nraw];
  if (!prepare(r, w, r->scratch + d->used, len)) {
    d->dropped++;
    return;
  }
  d->used += len;
  d->nraw++;
  if (w->tso) {
    d->frames += w->plan.segs;
    for (unsigned i = 0; i < w->plan.segs; i++) d->total += offload_tso_seglen(&w->plan, i) + FRAME_HEADROOM;
  } else {
    d->frames++;
    d->total += w->len + FRAME_HEADROOM;
  }
}

// A TAP's own descriptor: one read(2) per frame.
static void drain_fd(reader_t* r, drain_t* d) {
  for (uint32_t reads = 0; reads < r->batch && d->used + READ_SCRATCH <= r->arena; reads++) {
    ssize_t len = read(r->fd, r->scratch + d->used, READ_SCRATCH);
    if (len < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) d->fatal = errno;
      return;
    }
    if (len == 0) {
      d->fatal = ENODEV;
      return;
    }
    keep(r, d, (size_t)len);
  }
}

// A packet socket: recvmmsg(2) calls, each into as many READ_SCRATCH slots
// as the arena has left after the frames kept so far; every frame then
// moves down to the end of those (so small frames leave the room for more).
static void drain_packet(reader_t* r, drain_t* d) {
  uint32_t reads = 0;
  while (reads < r->batch) {
    size_t slots = (r->arena - d->used) / READ_SCRATCH;
    if (slots == 0) return;
    size_t n = r->batch - reads;
    if (slots < n) n = slots;
    if (n > PACKET_BATCH_MAX) n = PACKET_BATCH_MAX;
    uint8_t* area = r->scratch + d->used;
    int got = read_packets(r->fd, r->mmsg, area, READ_SCRATCH, (unsigned)n);
    if (got < 0) {
      if (errno == EINTR) continue;
      // A packet socket with the virtio header refuses (and drops) a frame
      // whose offload it cannot describe, e.g. UDP segmentation. After a
      // frame or more, recvmmsg reports that on its next call.
      if (errno == EINVAL && r->vnet) {
        d->dropped++;
        reads++;
        continue;
      }
      if (errno != EAGAIN) d->fatal = errno;
      return;
    }
    for (unsigned k = 0; k < (unsigned)got; k++) {
      ssize_t len = packet_take(r->mmsg, k, r->scratch + d->used, r->vnet);
      if (len <= 0) d->dropped++;  // truncated, or empty
      else keep(r, d, (size_t)len);
    }
    reads += (uint32_t)got;
    if ((size_t)got < n) {
      // Short: drained, or a read failed after the first. recvmmsg keeps
      // that error for later (it would make the socket poll as failed): take
      // it now, as the next call would have.
      int err = 0;
      socklen_t elen = sizeof err;
      if (getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err != 0) {
        if (err == EINVAL && r->vnet) {
          d->dropped++;
          reads++;
          continue;
        }
        d->fatal = err;
      }
      return;
    }
  }
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
  drain_t d = {0};
  if (r->packet) drain_packet(r, &d);
  else drain_fd(r, &d);
  uint32_t nraw = d.nraw, frames = d.frames, dropped = d.dropped;
  size_t total = d.total;
  int fatal = d.fatal;
  // Frames the kernel dropped before us: the socket's receive buffer was full.
  uint32_t overruns = r->packet ? packet_drops(r->fd) : 0;
  if (frames > 0 || dropped > 0 || overruns > 0) {
    napi_env env = r->env;
    napi_handle_scope scope;
    napi_open_handle_scope(env, &scope);
    napi_value args[4], lens_ab;
    napi_create_uint32(env, overruns, &args[3]);
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
      call_js(r, r->on_frames, 4, args);
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
      call_js(r, r->on_frames, 4, args);
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
// (batch: Buffer, lengths: Uint32Array, dropped: number, overruns: number)
// (malformed frames; frames a packet socket's kernel side dropped for want of
// buffer): frame i starts
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
  r->arena = r->packet ? PACKET_READ_ARENA : READ_ARENA;
  r->scratch = malloc(r->arena);
  r->raws = malloc(sizeof(raw_t) * batch);
  r->mmsg = r->packet ? malloc(sizeof *r->mmsg) : NULL;
  // Everything JS-side first, so a failure leaves no libuv handle behind.
  if (!r->scratch || !r->raws || (r->packet && !r->mmsg) ||
      napi_create_reference(env, argv[1], 1, &r->on_frames) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &r->on_error) != napi_ok ||
      napi_create_reference(env, handle, 1, &r->self) != napi_ok ||
      napi_async_init(env, handle, resource_name, &r->async) != napi_ok) {
    if (r->on_frames) napi_delete_reference(env, r->on_frames);
    if (r->on_error) napi_delete_reference(env, r->on_error);
    if (r->self) napi_delete_reference(env, r->self);
    free(r->scratch);
    free(r->raws);
    free(r->mmsg);
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
    free(r->mmsg);
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

