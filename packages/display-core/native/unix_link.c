// Reading a D-Bus peer link the way display-core needs it: straight into memory the caller
// owns (no buffer allocated per read, which made V8 collect garbage every few frames at
// 1920x1080), together with the file descriptors that arrive on it (SCM_RIGHTS: the memfd
// of QEMU's ScanoutMap). Node's own sockets read with read(2), which drops those.
//
// Exports (all synchronous; the socket is used with MSG_DONTWAIT, so none blocks):
//   recv(fd, buffer, fdsOut)   -> bytes read, 0 at end of stream, or -errno;
//                                 fdsOut[0] = number of fds received, fdsOut[1..] the fds
//   send(fd, buffer)           -> bytes written or -errno
//   setSendBuffer(fd, bytes)   -> 0 or -errno (SO_SNDBUF; the kernel caps it at net.core.wmem_max)
//   pollOpen(fd, callback)     -> handle; callback(status, events) on readiness
//   pollStart(handle, events)     events: 1 readable, 2 writable (libuv's UV_READABLE/UV_WRITABLE)
//   pollClose(handle)             stops watching and closes fd
#define NAPI_VERSION 8
#include <errno.h>
#include <stdbool.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

// The kernel's limit on fds in one message (SCM_MAX_FD).
#define MAX_FDS 253

#define CHECK(call)                                                                  \
  do {                                                                               \
    if ((call) != napi_ok) {                                                         \
      napi_throw_error(env, NULL, "unix_link: " #call " failed");                    \
      return NULL;                                                                   \
    }                                                                                \
  } while (0)

static napi_value make_int(napi_env env, int64_t value) {
  napi_value result;
  napi_create_int64(env, value, &result);
  return result;
}

// The (fd, buffer, ...) at the head of recv's and send's arguments; false with an exception pending.
static bool fd_and_buffer(napi_env env, napi_callback_info info, napi_value *argv, size_t argc, int32_t *fd, void **data,
                          size_t *length) {
  size_t given = argc;
  if (napi_get_cb_info(env, info, &given, argv, NULL, NULL) != napi_ok || given < argc ||
      napi_get_value_int32(env, argv[0], fd) != napi_ok || napi_get_buffer_info(env, argv[1], data, length) != napi_ok) {
    napi_throw_type_error(env, NULL, "unix_link: expected (fd, buffer, ...)");
    return false;
  }
  return true;
}

static napi_value do_recv(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t fd;
  void *data;
  size_t length;
  if (!fd_and_buffer(env, info, argv, 3, &fd, &data, &length)) return NULL;
  napi_typedarray_type type;
  size_t fds_length;
  void *fds_data;
  CHECK(napi_get_typedarray_info(env, argv[2], &type, &fds_length, &fds_data, NULL, NULL));
  if (type != napi_int32_array || fds_length < MAX_FDS + 1) {
    napi_throw_type_error(env, NULL, "unix_link.recv: fdsOut must be an Int32Array of at least 254");
    return NULL;
  }
  int32_t *fds_out = fds_data;
  fds_out[0] = 0;

  union {
    struct cmsghdr align;
    char space[CMSG_SPACE(sizeof(int) * MAX_FDS)];
  } control;
  struct iovec iov = {.iov_base = data, .iov_len = length};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space};
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return make_int(env, -errno);

  int count = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t received = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int fds[MAX_FDS];
    memcpy(fds, CMSG_DATA(c), received * sizeof(int));
    for (size_t i = 0; i < received; i++) {
      if (count < MAX_FDS) fds_out[1 + count++] = fds[i];
      else close(fds[i]);
    }
  }
  fds_out[0] = count;
  // A truncated control message lost fds: the byte stream is fine but a call would miss them.
  if (msg.msg_flags & MSG_CTRUNC) {
    for (int i = 0; i < count; i++) close(fds_out[1 + i]);
    fds_out[0] = 0;
    return make_int(env, -EPROTO);
  }
  return make_int(env, n);
}

static napi_value do_send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t fd;
  void *data;
  size_t length;
  if (!fd_and_buffer(env, info, argv, 2, &fd, &data, &length)) return NULL;
  ssize_t n;
  do {
    n = send(fd, data, length, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return make_int(env, n < 0 ? -errno : n);
}

static napi_value set_send_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  int32_t bytes;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &bytes) != napi_ok) {
    napi_throw_type_error(env, NULL, "unix_link.setSendBuffer: expected (fd, bytes)");
    return NULL;
  }
  return make_int(env, setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes) < 0 ? -errno : 0);
}

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int fd;
  int closed;
} poller;

static void on_poll_closed(uv_handle_t *handle) {
  poller *p = handle->data;
  napi_delete_reference(p->env, p->callback);
  napi_async_destroy(p->env, p->context);
  free(p);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  poller *p = handle->data;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, global, argv[2], result;
  if (napi_get_reference_value(env, p->callback, &callback) == napi_ok && napi_get_global(env, &global) == napi_ok) {
    argv[0] = make_int(env, status);
    argv[1] = make_int(env, events);
    if (napi_make_callback(env, p->context, global, callback, 2, argv, &result) == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
  napi_close_handle_scope(env, scope);
}

static napi_value poll_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  poller *p = calloc(1, sizeof *p);
  if (!p) {
    napi_throw_error(env, NULL, "unix_link.pollOpen: out of memory");
    return NULL;
  }
  int err = uv_poll_init(loop, &p->handle, fd);
  if (err) {
    free(p);
    napi_throw_error(env, NULL, uv_strerror(err));
    return NULL;
  }
  p->handle.data = p;
  p->env = env;
  p->fd = fd;
  napi_value name;
  CHECK(napi_create_string_utf8(env, "UnixLink", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_reference(env, argv[1], 1, &p->callback));
  CHECK(napi_async_init(env, NULL, name, &p->context));
  napi_value external;
  CHECK(napi_create_external(env, p, NULL, NULL, &external));
  return external;
}

// The arguments of pollStart and pollClose, the handle first; NULL with an exception pending.
static poller *poller_args(napi_env env, napi_callback_info info, napi_value *argv, size_t argc) {
  size_t given = argc;
  void *p = NULL;
  if (napi_get_cb_info(env, info, &given, argv, NULL, NULL) != napi_ok || given < argc ||
      napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "unix_link: not a poll handle");
    return NULL;
  }
  if (((poller *)p)->closed) {
    napi_throw_error(env, NULL, "unix_link: poll handle is closed");
    return NULL;
  }
  return p;
}

static napi_value poll_start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  poller *p = poller_args(env, info, argv, 2);
  if (!p) return NULL;
  int32_t events;
  CHECK(napi_get_value_int32(env, argv[1], &events));
  int err = uv_poll_start(&p->handle, events & (UV_READABLE | UV_WRITABLE), on_poll);
  if (err) napi_throw_error(env, NULL, uv_strerror(err));
  return NULL;
}

static napi_value poll_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  poller *p = poller_args(env, info, argv, 1);
  if (!p) return NULL;
  p->closed = 1;
  // uv_poll_stop takes the fd out of epoll at once, so it may be closed right after.
  uv_poll_stop(&p->handle);
  close(p->fd);
  uv_close((uv_handle_t *)&p->handle, on_poll_closed);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"recv", NULL, do_recv, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, do_send, NULL, NULL, NULL, napi_default, NULL},
      {"setSendBuffer", NULL, set_send_buffer, NULL, NULL, NULL, napi_default, NULL},
      {"pollOpen", NULL, poll_open, NULL, NULL, NULL, napi_default, NULL},
      {"pollStart", NULL, poll_start, NULL, NULL, NULL, napi_default, NULL},
      {"pollClose", NULL, poll_close, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
