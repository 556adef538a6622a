// Frame I/O for TAP guests: opens TAP devices (/dev/net/tun) and AF_PACKET
// sockets bound to an interface (packet.c), and moves Ethernet frames between
// them and JavaScript. Readers (reader.c) are libuv polls that drain the descriptor in
// batches and hand JavaScript one array of Buffers per batch; writes
// (write.c) are write(2)s, singly or batched, with TCP coalescing when the
// TAP carries the virtio-net header (offload.c). The underlay's batched UDP
// socket lives here too (udp.c, udp_reader.c). Every failure becomes a
// JavaScript Error whose `code` is the errno name; nothing here aborts the
// process. This file: errors, opening and closing, the module table.
#define _GNU_SOURCE  // strerrorname_np
#include "napi_util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

// ---------------------------------------------------------------- errors

napi_value make_error(napi_env env, int err, const char* what) {
  const char* code = strerrorname_np(err);
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value jcode, jmsg, error, jerrno;
  napi_create_string_utf8(env, code ? code : "EUNKNOWN", NAPI_AUTO_LENGTH, &jcode);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg);
  napi_create_error(env, jcode, jmsg, &error);
  napi_create_int32(env, err, &jerrno);
  napi_set_named_property(env, error, "errno", jerrno);
  return error;
}

napi_value throw_errno(napi_env env, int err, const char* what) {
  napi_throw(env, make_error(env, err, what));
  return NULL;
}

napi_value throw_type(napi_env env, const char* msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

bool get_fd(napi_env env, napi_value v, int* fd) {
  if (napi_get_value_int32(env, v, fd) != napi_ok || *fd < 0) {
    throw_type(env, "fd must be a non-negative integer");
    return false;
  }
  return true;
}

// Calls a referenced JavaScript function from a libuv callback. make_callback
// runs the microtask queue afterwards, like any I/O callback; an exception is
// handled as one thrown from an I/O callback.
void call_js_ref(napi_env env, napi_async_context async, napi_ref fn_ref, size_t argc, napi_value* argv) {
  napi_value fn, recv, result;
  if (!fn_ref || napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) return;
  napi_get_global(env, &recv);  // make_callback needs an object receiver
  napi_status st = napi_make_callback(env, async, recv, fn, argc, argv, &result);
  if (st == napi_pending_exception) {
    napi_value ex;
    napi_get_and_clear_last_exception(env, &ex);
    napi_fatal_exception(env, ex);
  }
}

// ---------------------------------------------------------------- open

bool get_args_ifname(napi_env env, napi_callback_info info, size_t max, napi_value* argv, size_t* argc, char name[IFNAMSIZ], size_t* len) {
  *argc = max;
  *len = 0;
  if (napi_get_cb_info(env, info, argc, argv, NULL, NULL) != napi_ok) return throw_type(env, "bad arguments"), false;
  if (*argc < 1 || napi_get_value_string_utf8(env, argv[0], name, IFNAMSIZ, len) != napi_ok) return throw_type(env, "ifname must be a string"), false;
  return true;
}

// openTap(name: string, vnetHdr: boolean, persist: boolean) → { fd, ifname }
static napi_value open_tap(napi_env env, napi_callback_info info) {
  size_t argc;
  napi_value argv[3];
  char name[IFNAMSIZ] = {0};
  size_t len;
  if (!get_args_ifname(env, info, 3, argv, &argc, name, &len)) return NULL;
  if (len >= IFNAMSIZ - 1 && strlen(name) != len) return throw_type(env, "ifname is too long");
  bool vnet_hdr = false, persist = false;
  if (argc > 1) napi_get_value_bool(env, argv[1], &vnet_hdr);
  if (argc > 2) napi_get_value_bool(env, argv[2], &persist);

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnet_hdr ? IFF_VNET_HDR : 0);
  memcpy(ifr.ifr_name, name, len < IFNAMSIZ ? len : IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "TUNSETIFF");
  }
  // With the virtio header the kernel may hand us partial checksums and
  // TCPv4 GSO frames (the guest stack then segments nothing itself).
  if (vnet_hdr && ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "TUNSETOFFLOAD");
  }
  if (persist && ioctl(fd, TUNSETPERSIST, 1) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "TUNSETPERSIST");
  }
  napi_value out, jfd, jname;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_int32(env, fd, &jfd));
  CHECK(napi_create_string_utf8(env, ifr.ifr_name, strnlen(ifr.ifr_name, IFNAMSIZ), &jname));
  CHECK(napi_set_named_property(env, out, "fd", jfd));
  CHECK(napi_set_named_property(env, out, "ifname", jname));
  return out;
}

// setPersist(fd, on: boolean): a persistent TAP outlives its descriptor, so a
// VM (qemu) can attach to it after the creator lets go.
static napi_value set_persist(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  bool on = false;
  if (argc < 2 || !get_fd(env, argv[0], &fd)) return argc < 2 ? throw_type(env, "setPersist(fd, on)") : NULL;
  napi_get_value_bool(env, argv[1], &on);
  if (ioctl(fd, TUNSETPERSIST, on ? 1 : 0) < 0) return throw_errno(env, errno, "TUNSETPERSIST");
  return NULL;
}

// closeFd(fd): only for descriptors with no reader (a reader closes its own).
static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int fd;
  if (argc < 1 || !get_fd(env, argv[0], &fd)) return argc < 1 ? throw_type(env, "closeFd(fd)") : NULL;
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, errno, "close");
  return NULL;
}

// ---------------------------------------------------------------- module

static napi_value init(napi_env env, napi_value exports) {
  napi_value headroom;
  CHECK(napi_create_uint32(env, reader_frame_headroom(), &headroom));
  napi_property_descriptor props[] = {
      {"frameHeadroom", NULL, NULL, NULL, NULL, headroom, napi_enumerable, NULL},
      {"openTap", NULL, open_tap, NULL, NULL, NULL, napi_default, NULL},
      {"setPersist", NULL, set_persist, NULL, NULL, NULL, napi_default, NULL},
      {"openPacket", NULL, open_packet, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
      {"write", NULL, write_one, NULL, NULL, NULL, napi_default, NULL},
      {"writeBatch", NULL, write_batch, NULL, NULL, NULL, napi_default, NULL},
      {"startReader", NULL, start_reader, NULL, NULL, NULL, napi_default, NULL},
      {"stopReader", NULL, stop_reader, NULL, NULL, NULL, napi_default, NULL},
      {"udpOpen", NULL, udp_open, NULL, NULL, NULL, napi_default, NULL},
      {"udpSend", NULL, udp_send, NULL, NULL, NULL, napi_default, NULL},
      {"udpStartReader", NULL, udp_start_reader, NULL, NULL, NULL, napi_default, NULL},
      {"udpWantWritable", NULL, udp_want_writable, NULL, NULL, NULL, napi_default, NULL},
      {"udpStopReader", NULL, udp_stop_reader, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
