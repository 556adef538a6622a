// The kernel fast path's control surface (agent/bpf/): the agent reads and
// writes the pinned maps of agent/bpf/softudc.bpf.c with the bpf() system
// call and attaches its socket filter to a VM guest's packet socket. Plain
// system calls, no libbpf: loading and attaching the programs is done once
// per device with bpftool and tc (agent/bpf/loader.ts), the per-entry work
// here. A module of its own (target softudc_bpf in binding.gyp).
#define _GNU_SOURCE // strerrorname_np
#define NAPI_VERSION 8
#include <node_api.h>
#include <errno.h>
#include <stdio.h>
#include <linux/bpf.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SO_ATTACH_BPF
#define SO_ATTACH_BPF 50
#endif
#ifndef SO_DETACH_BPF
#define SO_DETACH_BPF 27
#endif

static napi_value throw_errno(napi_env env, int err, const char* what) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, error, num;
  napi_create_string_utf8(env, strerrorname_np(err) ? strerrorname_np(err) : "EUNKNOWN", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  napi_create_error(env, code, text, &error);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_type(napi_env env, const char* msg) {
  napi_throw_type_error(env, "EINVAL", msg);
  return NULL;
}

static long sys_bpf(int cmd, union bpf_attr* attr) { return syscall(__NR_bpf, cmd, attr, sizeof *attr); }

static bool arg_int(napi_env env, napi_value v, int32_t* out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) return false;
  return napi_get_value_int32(env, v, out) == napi_ok;
}

static bool arg_buf(napi_env env, napi_value v, void** data, size_t* len) {
  bool is = false;
  if (napi_is_buffer(env, v, &is) != napi_ok || !is) return false;
  return napi_get_buffer_info(env, v, data, len) == napi_ok;
}

static napi_value boolean(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

// objGet(path) → fd of a pinned map or program.
static napi_value obj_get(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[4096];
  size_t n = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &n) != napi_ok || n == 0 || n >= sizeof path - 1)
    return throw_type(env, "path must be a string");
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.pathname = (uint64_t)(uintptr_t)path;
  a.file_flags = 0;
  long fd = sys_bpf(BPF_OBJ_GET, &a);
  if (fd < 0) return throw_errno(env, errno, "BPF_OBJ_GET");
  napi_value out;
  napi_create_int32(env, (int32_t)fd, &out);
  return out;
}

static int possible_cpus(void) {
  static int n = 0;
  if (n > 0) return n;
  FILE* f = fopen("/sys/devices/system/cpu/possible", "r");
  int total = 0, a, b;
  char sep;
  if (f) {
    while (fscanf(f, "%d", &a) == 1) {
      b = a;
      if (fscanf(f, "%c", &sep) == 1 && sep == '-' && fscanf(f, "%d", &b) == 1) fscanf(f, "%c", &sep);
      total += b - a + 1;
    }
    fclose(f);
  }
  n = total > 0 ? total : 1;
  return n;
}

// The kernel writes a whole value (per CPU for per-CPU maps) into what we
// hand it: buffers shorter than the map's sizes are refused, never passed.
static bool sizes_fit(napi_env env, int fd, size_t kl, size_t vl, bool has_val) {
  struct bpf_map_info mi;
  memset(&mi, 0, sizeof mi);
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.info.bpf_fd = (uint32_t)fd;
  a.info.info_len = sizeof mi;
  a.info.info = (uint64_t)(uintptr_t)&mi;
  if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) < 0) {
    throw_errno(env, errno, "BPF_OBJ_GET_INFO_BY_FD");
    return false;
  }
  size_t need = mi.value_size;
  if (mi.type == BPF_MAP_TYPE_PERCPU_ARRAY || mi.type == BPF_MAP_TYPE_PERCPU_HASH || mi.type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
    need = ((mi.value_size + 7) & ~7u) * (size_t)possible_cpus();
  if (kl != mi.key_size || (has_val && vl < need)) {
    throw_type(env, "key or value Buffer does not match the map's sizes");
    return false;
  }
  return true;
}

// The element calls: (fd, key, value) for update and lookup, (fd, key) for delete.
static napi_value map_elem(napi_env env, napi_callback_info info, int cmd, const char* usage) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  void *key, *val = NULL;
  size_t kl, vl;
  size_t need = cmd == BPF_MAP_DELETE_ELEM ? 2 : 3;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < need || !arg_int(env, argv[0], &fd) || !arg_buf(env, argv[1], &key, &kl) || (need == 3 && !arg_buf(env, argv[2], &val, &vl)))
    return throw_type(env, usage);
  if (!sizes_fit(env, fd, kl, need == 3 ? vl : 0, need == 3)) return NULL;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = (uint32_t)fd;
  a.key = (uint64_t)(uintptr_t)key;
  a.value = (uint64_t)(uintptr_t)val;
  if (cmd == BPF_MAP_UPDATE_ELEM) a.flags = BPF_ANY;
  if (sys_bpf(cmd, &a) < 0) {
    if (errno == ENOENT && cmd != BPF_MAP_UPDATE_ELEM) return boolean(env, false);
    return throw_errno(env, errno, usage);
  }
  return boolean(env, true);
}

// mapUpdate(fd, key, value): insert or replace.
static napi_value map_update(napi_env env, napi_callback_info info) {
  return map_elem(env, info, BPF_MAP_UPDATE_ELEM, "mapUpdate(fd, key: Buffer, value: Buffer)");
}

// mapDelete(fd, key) → false when the key was absent.
static napi_value map_delete(napi_env env, napi_callback_info info) {
  return map_elem(env, info, BPF_MAP_DELETE_ELEM, "mapDelete(fd, key: Buffer)");
}

// mapLookup(fd, key, out) → false when absent; `out` receives the value
// (for per-CPU maps, one 8-byte-aligned value per possible CPU).
static napi_value map_lookup(napi_env env, napi_callback_info info) {
  return map_elem(env, info, BPF_MAP_LOOKUP_ELEM, "mapLookup(fd, key: Buffer, out: Buffer)");
}

// mapNextKey(fd, key | null, out) → false after the last key.
static napi_value map_next_key(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  int32_t fd;
  void *key = NULL, *next;
  size_t kl, nl;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (argc < 3 || !arg_int(env, argv[0], &fd) || !(t == napi_null || arg_buf(env, argv[1], &key, &kl)) || !arg_buf(env, argv[2], &next, &nl))
    return throw_type(env, "mapNextKey(fd, key: Buffer | null, out: Buffer)");
  if (!sizes_fit(env, fd, nl, 0, false) || (key != NULL && kl != nl && !throw_type(env, "key and out must be the same size"))) return NULL;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.map_fd = (uint32_t)fd;
  a.key = (uint64_t)(uintptr_t)key;
  a.next_key = (uint64_t)(uintptr_t)next;
  if (sys_bpf(BPF_MAP_GET_NEXT_KEY, &a) < 0) {
    if (errno == ENOENT) return boolean(env, false);
    return throw_errno(env, errno, "BPF_MAP_GET_NEXT_KEY");
  }
  return boolean(env, true);
}

// attachSocket(sockFd, progFd): SO_ATTACH_BPF; progFd -1 detaches.
static napi_value attach_socket(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t sock, prog;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || !arg_int(env, argv[0], &sock) || !arg_int(env, argv[1], &prog) || sock < 0) return throw_type(env, "attachSocket(sockFd, progFd)");
  int r = prog < 0 ? setsockopt(sock, SOL_SOCKET, SO_DETACH_BPF, &prog, sizeof prog) : setsockopt(sock, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof prog);
  if (r < 0 && !(prog < 0 && errno == ENOENT)) return throw_errno(env, errno, prog < 0 ? "SO_DETACH_BPF" : "SO_ATTACH_BPF");
  return NULL;
}

// closeFd(fd)
static napi_value close_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !arg_int(env, argv[0], &fd) || fd < 0) return throw_type(env, "closeFd(fd)");
  close(fd);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"objGet", NULL, obj_get, NULL, NULL, NULL, napi_default, NULL},
      {"mapUpdate", NULL, map_update, NULL, NULL, NULL, napi_default, NULL},
      {"mapDelete", NULL, map_delete, NULL, NULL, NULL, napi_default, NULL},
      {"mapLookup", NULL, map_lookup, NULL, NULL, NULL, napi_default, NULL},
      {"mapNextKey", NULL, map_next_key, NULL, NULL, NULL, napi_default, NULL},
      {"attachSocket", NULL, attach_socket, NULL, NULL, NULL, napi_default, NULL},
      {"closeFd", NULL, close_fd, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
