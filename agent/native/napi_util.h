// Shared helpers of the TAP addon: errors as JavaScript Errors whose `code`
// is the errno name, argument checks, and the functions each file exports
// to the module table (tap.c).
#ifndef SOFTUDC_NAPI_UTIL_H
#define SOFTUDC_NAPI_UTIL_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>

napi_value make_error(napi_env env, int err, const char* what);
napi_value throw_errno(napi_env env, int err, const char* what);
napi_value throw_type(napi_env env, const char* msg);
bool get_fd(napi_env env, napi_value v, int* fd);
// Reads up to `max` arguments, the first an interface name (at most
// IFNAMSIZ - 1 characters kept; `len` is its full length). False with a
// TypeError pending when it is not a string.
bool get_args_ifname(napi_env env, napi_callback_info info, size_t max, napi_value* argv, size_t* argc, char* name, size_t* len);
void call_js_ref(napi_env env, napi_async_context async, napi_ref fn_ref, size_t argc, napi_value* argv);

// Type tags of the two reader handle kinds: a TAP reader handle passed where
// a UDP one is expected (or the reverse) is refused, never reinterpreted.
static const napi_type_tag TAP_READER_TAG = {0x5d7a9e0c1b2f4d63ULL, 0x8c41e5a0f36b9d27ULL};
static const napi_type_tag UDP_READER_TAG = {0x5d7a9e0c1b2f4d63ULL, 0x3e9b0d7c52a1f846ULL};

// True when `v` carries `tag`; otherwise throws a TypeError naming `what`.
static inline bool check_tag(napi_env env, napi_value v, const napi_type_tag* tag, const char* what) {
  bool ok = false;
  napi_valuetype t = napi_undefined;
  if (napi_typeof(env, v, &t) == napi_ok && t == napi_object) napi_check_object_type_tag(env, v, tag, &ok);
  if (!ok) throw_type(env, what);
  return ok;
}

// Returns NULL from the calling N-API function, with a JS exception pending.
#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) {                          \
      const napi_extended_error_info* info = NULL;    \
      napi_get_last_error_info(env, &info);           \
      bool pending = false;                           \
      napi_is_exception_pending(env, &pending);       \
      if (!pending)                                   \
        napi_throw_error(env, "ENAPI",                \
                         info && info->error_message  \
                             ? info->error_message    \
                             : "N-API call failed");  \
      return NULL;                                    \
    }                                                 \
  } while (0)

// write.c
napi_value write_one(napi_env env, napi_callback_info info);
napi_value write_batch(napi_env env, napi_callback_info info);
// packet.c
napi_value open_packet(napi_env env, napi_callback_info info);
// reader.c
napi_value start_reader(napi_env env, napi_callback_info info);
/** Spare bytes the reader leaves before every frame of a batch (reader.c). */
uint32_t reader_frame_headroom(void);
napi_value stop_reader(napi_env env, napi_callback_info info);
// udp.c
napi_value udp_open(napi_env env, napi_callback_info info);
napi_value udp_send(napi_env env, napi_callback_info info);
// udp_reader.c
napi_value udp_start_reader(napi_env env, napi_callback_info info);
napi_value udp_want_writable(napi_env env, napi_callback_info info);
napi_value udp_stop_reader(napi_env env, napi_callback_info info);

#endif
