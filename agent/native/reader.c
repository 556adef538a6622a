// Readers: a libuv poll on a TAP or packet-socket descriptor that drains it
// on every wake-up and calls JavaScript once per batch.
#define _GNU_SOURCE  // glibc extensions
#include "napi_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "offload.h"

// Largest frame one read can return: a 64 KiB GSO frame plus headers. Plain
// TAP frames are at most MTU + 18, but a short read would silently truncate.
#define READ_SCRATCH 65600
#define DEFAULT_BATCH 64
#define MAX_BATCH 1024
// A GSO frame of 64 KiB cut at a tiny MSS would be thousands of segments:
// refuse anything the MTU-sized world cannot have produced.
#define MAX_TSO_SEGS 512

// ---------------------------------------------------------------- reader

typedef struct reader {
  uv_poll_t poll;
  napi_env env;
  napi_ref on_frames;  // (frames: Buffer[], dropped: number) => void
  napi_ref on_error;   // (err: Error) => void
  napi_ref self;       // keeps the JS handle object alive while polling
  napi_async_context async;
  int fd;
  uint32_t batch;
  bool vnet;           // reads carry a virtio-net header (IFF_VNET_HDR)
  bool closing;
  bool closed_fd;
  bool handle_closed;  // libuv is done with `poll`
  bool wrapped;        // the JS handle object still points at us
  unsigned char* scratch;
} reader_t;

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
  r->scratch = NULL;
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
  napi_env env = r->env;
  napi_value fn, recv, result;
  if (!fn_ref || napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_global(env, &recv);  // make_callback needs an object receiver
  // make_callback runs the microtask queue afterwards, like any I/O callback.
  napi_status st = napi_make_callback(env, r->async, recv, fn, argc, argv, &result);
  if (st == napi_pending_exception) {
    napi_value ex;
    napi_get_and_clear_last_exception(env, &ex);
    napi_fatal_exception(env, ex);  // same as an exception thrown from an I/O callback
  }
}

static void report_error(reader_t* r, int err, const char* what) {
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value error = make_error(env, err, what);
  call_js(r, r->on_error, 1, &error);
  napi_close_handle_scope(env, scope);
}

// Appends one frame read from the device to `frames`: plain, or behind a
// virtio header (a partial checksum is completed; a TCP GSO frame becomes
// MSS-sized segments). Returns false when the frame was malformed (dropped).
static bool emit_frame(reader_t* r, napi_value frames, uint32_t* n, uint8_t* f, size_t len) {
  napi_env env = r->env;
  napi_value buf;
  if (r->vnet) {
    if (len < VNET_HDR_LEN) return false;
    vnet_hdr_t vh;
    vnet_hdr_decode(f, &vh);
    f += VNET_HDR_LEN;
    len -= VNET_HDR_LEN;
    uint8_t gso = vh.gso_type & (uint8_t)~VNET_GSO_ECN;
    if (gso == VNET_GSO_TCPV4) {
      tso_plan_t plan;
      if (offload_tso_plan(f, len, vh.gso_size, &plan) < 0 || plan.segs > MAX_TSO_SEGS) return false;
      for (unsigned i = 0; i < plan.segs; i++) {
        void* data;
        size_t seglen = offload_tso_seglen(&plan, i);
        if (napi_create_buffer(env, seglen, &data, &buf) != napi_ok) return false;
        offload_tso_fill(f, &plan, i, data);
        napi_set_element(env, frames, (*n)++, buf);
      }
      return true;
    }
    if (gso != VNET_GSO_NONE) return false;  // only TSO4 is offered (TUNSETOFFLOAD)
    if ((vh.flags & VNET_F_NEEDS_CSUM) && offload_complete_csum(f, len, vh.csum_start, vh.csum_offset) < 0) return false;
  }
  if (napi_create_buffer_copy(env, len, f, NULL, &buf) != napi_ok) return false;
  napi_set_element(env, frames, (*n)++, buf);
  return true;
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
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value frames;
  napi_create_array(env, &frames);
  uint32_t n = 0, dropped = 0;
  int fatal = 0;
  for (uint32_t reads = 0; reads < r->batch; reads++) {
    ssize_t len = read(r->fd, r->scratch, READ_SCRATCH);
    if (len < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) fatal = errno;
      break;
    }
    if (len == 0) { fatal = ENODEV; break; }
    if (!emit_frame(r, frames, &n, r->scratch, (size_t)len)) dropped++;
  }
  if (n > 0 || dropped > 0) {
    napi_value args[2];
    args[0] = frames;
    napi_create_uint32(env, dropped, &args[1]);
    call_js(r, r->on_frames, 2, args);
  }
  napi_close_handle_scope(env, scope);
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

// startReader(fd, onFrames, onError, batch?, vnetHdr?) → handle. onFrames gets
// (frames: Buffer[], dropped: number). The reader owns the descriptor from
// now on: stopReader(handle) closes it.
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
  r->scratch = malloc(READ_SCRATCH);
  r->env = env;
  r->fd = fd;
  r->batch = batch;
  r->vnet = vnet;
  // Everything JS-side first, so a failure leaves no libuv handle behind.
  if (!r->scratch ||
      napi_create_reference(env, argv[1], 1, &r->on_frames) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &r->on_error) != napi_ok ||
      napi_create_reference(env, handle, 1, &r->self) != napi_ok ||
      napi_async_init(env, handle, resource_name, &r->async) != napi_ok) {
    if (r->on_frames) napi_delete_reference(env, r->on_frames);
    if (r->on_error) napi_delete_reference(env, r->on_error);
    if (r->self) napi_delete_reference(env, r->self);
    free(r->scratch);
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
    free(r);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  if (napi_wrap(env, handle, r, reader_finalize, NULL, NULL) != napi_ok) {
    reader_shutdown(r);
    return throw_errno(env, ENOMEM, "napi_wrap");
  }
  r->wrapped = true;
  return handle;
}

// stopReader(handle): stops polling and closes the descriptor. Idempotent.
napi_value stop_reader(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "stopReader(handle)");
  reader_t* r = NULL;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t != napi_object) return throw_type(env, "not a reader handle");
  // Already stopped (the wrap is removed on the first call): nothing to do.
  if (napi_unwrap(env, argv[0], (void**)&r) != napi_ok || r == NULL) return NULL;
  napi_remove_wrap(env, argv[0], NULL);
  r->wrapped = false;
  if (r->closing) reader_release(r);  // stopped earlier by a read error
  else reader_shutdown(r);
  return NULL;
}

