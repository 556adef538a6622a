// The receive side of the underlay's UDP socket: a libuv poll that drains it
// with recvmmsg(2) on every wake-up and calls JavaScript once per batch. With
// UDP_GRO the kernel hands over a run of equal-sized datagrams of one flow as
// one buffer plus the segment size; it is cut back into the datagrams the
// sender sent. The same poll reports when a full socket buffer has room again
// (udpWantWritable), so sends resume without a second handle.
// Over 300 lines, kept whole: the receive ring, its poll (readable and writable) and the GRO cut share one reader struct and its lifecycle.
#define _GNU_SOURCE  // recvmmsg, struct mmsghdr
#include "napi_util.h"

#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include "udp.h"

// One slot holds the largest datagram, or a GRO run (at most 64 KiB).
#define SLOT_SIZE 65536
#define DEFAULT_SLOTS 64
#define MAX_SLOTS 256

typedef union {
  char buf[CMSG_SPACE(sizeof(int))];
  struct cmsghdr align;
} gro_ctl_t;

typedef struct udp_reader {
  uv_poll_t poll;
  napi_env env;
  napi_ref on_datagrams;  // (bufs: Buffer[], meta: Uint32Array, truncated: number) => void
  napi_ref on_writable;   // () => void
  napi_ref on_error;      // (err: Error, fatal: boolean) => void; after a fatal one the reader has stopped
  napi_ref self;
  napi_async_context async;
  int fd;
  uint32_t slots;
  bool want_writable;
  bool closing;
  bool handle_closed;
  bool wrapped;
  uint8_t* scratch;  // slots × SLOT_SIZE
  struct mmsghdr* msgs;
  struct iovec* iov;
  struct sockaddr_in* names;
  gro_ctl_t* ctl;
} udp_reader_t;

static void free_buffers(udp_reader_t* r) {
  free(r->scratch);
  free(r->msgs);
  free(r->iov);
  free(r->names);
  free(r->ctl);
  r->scratch = NULL;
  r->msgs = NULL;
  r->iov = NULL;
  r->names = NULL;
  r->ctl = NULL;
}

static void reader_release(udp_reader_t* r) {
  if (r->handle_closed && !r->wrapped) free(r);
}

static void reader_closed(uv_handle_t* h) {
  udp_reader_t* r = (udp_reader_t*)h->data;
  free_buffers(r);
  r->handle_closed = true;
  reader_release(r);
}

// Stops polling and closes the socket at once (a new one may bind the same
// address right after, as with a closed dgram socket); the memory goes when
// libuv is done with the handle. `close_fd` false leaves fd to the caller.
static void reader_shutdown(udp_reader_t* r, bool close_fd) {
  if (r->closing) return;
  r->closing = true;
  uv_poll_stop(&r->poll);
  napi_env env = r->env;
  if (r->on_datagrams) napi_delete_reference(env, r->on_datagrams);
  if (r->on_writable) napi_delete_reference(env, r->on_writable);
  if (r->on_error) napi_delete_reference(env, r->on_error);
  if (r->self) napi_delete_reference(env, r->self);
  if (r->async) napi_async_destroy(env, r->async);
  r->on_datagrams = r->on_writable = r->on_error = r->self = NULL;
  r->async = NULL;
  // uv_close stops the poll (the fd leaves epoll) before it returns; libuv
  // does not touch the descriptor after that.
  uv_close((uv_handle_t*)&r->poll, reader_closed);
  if (close_fd) close(r->fd);
  r->fd = -1;
}

static void report_error(udp_reader_t* r, int err, const char* what, bool fatal) {
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value args[2];
  args[0] = make_error(env, err, what);
  napi_get_boolean(env, fatal, &args[1]);
  call_js_ref(env, r->async, r->on_error, 2, args);
  napi_close_handle_scope(env, scope);
}

// The segment size of a GRO run (0: one plain datagram).
static int gro_size(struct msghdr* h) {
  for (struct cmsghdr* c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int v;
      memcpy(&v, CMSG_DATA(c), sizeof v);
      return v > 0 ? v : 0;
    }
  }
  return 0;
}

static void receive(udp_reader_t* r) {
  for (uint32_t i = 0; i < r->slots; i++) {
    struct msghdr* h = &r->msgs[i].msg_hdr;
    h->msg_name = &r->names[i];
    h->msg_namelen = sizeof r->names[i];
    h->msg_iov = &r->iov[i];
    h->msg_iovlen = 1;
    h->msg_control = r->ctl[i].buf;
    h->msg_controllen = sizeof r->ctl[i].buf;
    h->msg_flags = 0;
  }
  int n;
  do n = recvmmsg(r->fd, r->msgs, r->slots, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    // EAGAIN: a wake-up with nothing left to read (a datagram that failed
    // its checksum, say). Anything else (a pending socket error, ENOMEM) is
    // reported; the socket stays usable.
    if (errno != EAGAIN && errno != EWOULDBLOCK) report_error(r, errno, "recvmmsg", false);
    return;
  }
  // One Buffer per message: a GRO run's datagrams share theirs (JavaScript
  // cuts it into views), a lone datagram has its own, so a datagram someone
  // keeps (a relay's queue, say) keeps no more than its own run alive.
  uint32_t truncated = 0;
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value args[3], meta_ab;
  uint32_t* m = NULL;
  if (napi_create_array_with_length(env, (size_t)n, &args[0]) != napi_ok ||
      napi_create_arraybuffer(env, (size_t)n * 12, (void**)&m, &meta_ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, (size_t)n * 3, meta_ab, 0, &args[1]) != napi_ok) {
    bool pending = false;
    napi_value ex;
    napi_is_exception_pending(env, &pending);
    if (pending) napi_get_and_clear_last_exception(env, &ex);
    napi_close_handle_scope(env, scope);
    report_error(r, ENOMEM, "recvmmsg", false);
    return;
  }
  uint32_t k = 0;
  for (int i = 0; i < n; i++) {
    struct msghdr* h = &r->msgs[i].msg_hdr;
    napi_value buf;
    if ((h->msg_flags & MSG_TRUNC) ||
        napi_create_buffer_copy(env, r->msgs[i].msg_len, r->iov[i].iov_base, NULL, &buf) != napi_ok) {
      truncated++;
      continue;
    }
    napi_set_element(env, args[0], k, buf);
    m[3 * k] = ntohl(r->names[i].sin_addr.s_addr);
    m[3 * k + 1] = ntohs(r->names[i].sin_port);
    m[3 * k + 2] = (uint32_t)gro_size(h);
    k++;
  }
  if (k < (uint32_t)n) {
    napi_value len;
    napi_create_uint32(env, k, &len);
    napi_set_named_property(env, args[0], "length", len);
  }
  napi_create_uint32(env, truncated, &args[2]);
  call_js_ref(env, r->async, r->on_datagrams, 3, args);
  napi_close_handle_scope(env, scope);
}

static void on_event(uv_poll_t* handle, int status, int events) {
  udp_reader_t* r = (udp_reader_t*)handle->data;
  if (r->closing) return;
  if (status < 0) {
    // The descriptor itself is broken: report once and stop (fd closed).
    report_error(r, -status, "poll", true);
    reader_shutdown(r, true);
    return;
  }
  if ((events & UV_WRITABLE) && r->want_writable) {
    r->want_writable = false;
    uv_poll_start(&r->poll, UV_READABLE, on_event);
    napi_handle_scope scope;
    napi_open_handle_scope(r->env, &scope);
    call_js_ref(r->env, r->async, r->on_writable, 0, NULL);
    napi_close_handle_scope(r->env, scope);
    if (r->closing) return;  // stopped from the callback
  }
  if (events & UV_READABLE) receive(r);
}

static void reader_finalize(napi_env env, void* data, void* hint) {
  (void)env; (void)hint;
  udp_reader_t* r = (udp_reader_t*)data;
  r->wrapped = false;
  reader_release(r);
}

static bool is_function(napi_env env, napi_value v) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == napi_function;
}

// udpStartReader(fd, onDatagrams, onWritable, onError, slots?) → handle.
// onDatagrams gets (bufs, meta, truncated): one Buffer per message received;
// meta[3i] is the source address of bufs[i] (host order), meta[3i + 1] its
// source port and meta[3i + 2] the GRO segment size (0: one datagram; else
// the sender's datagrams back to back, all that long but the last). The
// reader owns `fd` from now on: udpStopReader closes it.
napi_value udp_start_reader(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_type(env, "udpStartReader(fd, onDatagrams, onWritable, onError, slots?)");
  int fd;
  if (!get_fd(env, argv[0], &fd)) return NULL;
  if (!is_function(env, argv[1]) || !is_function(env, argv[2]) || !is_function(env, argv[3]))
    return throw_type(env, "onDatagrams, onWritable and onError must be functions");
  uint32_t slots = DEFAULT_SLOTS;
  napi_valuetype t4 = napi_undefined;
  if (argc > 4) napi_typeof(env, argv[4], &t4);
  if (t4 == napi_number) napi_get_value_uint32(env, argv[4], &slots);
  if (slots == 0) slots = 1;
  if (slots > MAX_SLOTS) slots = MAX_SLOTS;

  uv_loop_t* loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  napi_value handle, resource_name;
  CHECK(napi_create_object(env, &handle));
  CHECK(napi_create_string_utf8(env, "SoftudcUdpReader", NAPI_AUTO_LENGTH, &resource_name));
  udp_reader_t* r = calloc(1, sizeof *r);
  if (!r) return throw_errno(env, ENOMEM, "udpStartReader");
  r->env = env;
  r->fd = fd;
  r->slots = slots;
  r->scratch = malloc((size_t)slots * SLOT_SIZE);
  r->msgs = calloc(slots, sizeof *r->msgs);
  r->iov = calloc(slots, sizeof *r->iov);
  r->names = calloc(slots, sizeof *r->names);
  r->ctl = calloc(slots, sizeof *r->ctl);
  bool ok = r->scratch && r->msgs && r->iov && r->names && r->ctl &&
            napi_create_reference(env, argv[1], 1, &r->on_datagrams) == napi_ok &&
            napi_create_reference(env, argv[2], 1, &r->on_writable) == napi_ok &&
            napi_create_reference(env, argv[3], 1, &r->on_error) == napi_ok &&
            napi_create_reference(env, handle, 1, &r->self) == napi_ok &&
            napi_async_init(env, handle, resource_name, &r->async) == napi_ok;
  int rc = ok ? uv_poll_init(loop, &r->poll, fd) : UV_ENOMEM;
  if (rc < 0) {
    // Nothing of libuv's to close yet: undo by hand; the caller keeps fd.
    if (r->on_datagrams) napi_delete_reference(env, r->on_datagrams);
    if (r->on_writable) napi_delete_reference(env, r->on_writable);
    if (r->on_error) napi_delete_reference(env, r->on_error);
    if (r->self) napi_delete_reference(env, r->self);
    if (r->async) napi_async_destroy(env, r->async);
    free_buffers(r);
    free(r);
    return throw_errno(env, -rc, "udpStartReader");
  }
  for (uint32_t i = 0; i < slots; i++) {
    r->iov[i].iov_base = r->scratch + (size_t)i * SLOT_SIZE;
    r->iov[i].iov_len = SLOT_SIZE;
  }
  r->poll.data = r;
  rc = uv_poll_start(&r->poll, UV_READABLE, on_event);
  if (rc < 0) {
    reader_shutdown(r, false);  // the caller still owns fd after a failed start
    return throw_errno(env, -rc, "uv_poll_start");
  }
  if (napi_wrap(env, handle, r, reader_finalize, NULL, NULL) != napi_ok) {
    reader_shutdown(r, false);
    return throw_errno(env, ENOMEM, "napi_wrap");
  }
  r->wrapped = true;
  CHECK(napi_type_tag_object(env, handle, &UDP_READER_TAG));
  return handle;
}

static udp_reader_t* unwrap(napi_env env, napi_value v) {
  udp_reader_t* r = NULL;
  if (!check_tag(env, v, &UDP_READER_TAG, "not a UDP reader handle")) return NULL;
  if (napi_unwrap(env, v, (void**)&r) != napi_ok) return NULL;  // already stopped
  return r;
}

// udpWantWritable(handle, on): with `on`, onWritable is called once when the
// socket can take more (after a send stopped at a full buffer).
napi_value udp_want_writable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2) return throw_type(env, "udpWantWritable(handle, on)");
  udp_reader_t* r = unwrap(env, argv[0]);
  if (r == NULL || r->closing) return NULL;
  bool on = false;
  napi_get_value_bool(env, argv[1], &on);
  if (on == r->want_writable) return NULL;
  r->want_writable = on;
  int rc = uv_poll_start(&r->poll, UV_READABLE | (on ? UV_WRITABLE : 0), on_event);
  if (rc < 0) return throw_errno(env, -rc, "uv_poll_start");
  return NULL;
}

// udpStopReader(handle): stops polling and closes the socket. Idempotent.
napi_value udp_stop_reader(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "udpStopReader(handle)");
  udp_reader_t* r = unwrap(env, argv[0]);
  if (r == NULL) return NULL;  // already stopped
  napi_remove_wrap(env, argv[0], NULL);
  r->wrapped = false;
  if (r->closing) reader_release(r);
  else reader_shutdown(r, true);
  return NULL;
}
