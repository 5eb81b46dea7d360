// Blocking stream-socket calls on the calling thread, for the synchronous
// side of a manager connection (src/managers/blocking-socket.ts): connect to
// a Unix path (abstract when it starts with NUL) or a TCP host and port,
// send a whole buffer, and receive with a timeout. The descriptor belongs to
// no libuv handle, so it never keeps the event loop alive, and it is
// close-on-exec. Errors are Node-style system errors (code, errno, syscall).
// Framing, authentication and encoding stay in TypeScript.
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include "common.h"

namespace multiproc {

namespace {

int SocketArgument(const Napi::Env& env, const Napi::Value& value) {
  if (!value.IsNumber()) throw Napi::TypeError::New(env, "fd must be a file descriptor number");
  double fd = value.As<Napi::Number>().DoubleValue();
  if (!(fd >= 0) || fd != std::floor(fd) || fd > INT_MAX) throw Napi::RangeError::New(env, "fd must be a non-negative integer");
  return static_cast<int>(fd);
}

double MillisecondsLeft(const timespec& deadline) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  double left = (deadline.tv_sec - now.tv_sec) * 1e3 + (deadline.tv_nsec - now.tv_nsec) / 1e6;
  return left > 0 ? left : 0;
}

// Waits until `fd` has one of `events` (or a hang-up or error, which the
// next call reports); false once `deadline` (nullptr: none) has passed.
// Throws for a failed poll.
bool PollUntil(const Napi::Env& env, int fd, short events, const timespec* deadline, const char* syscall) {
  for (;;) {
    int wait = -1;
    if (deadline != nullptr) {
      double left = std::ceil(MillisecondsLeft(*deadline));
      wait = left > INT_MAX ? INT_MAX : static_cast<int>(left);
    }
    pollfd ready = {fd, events, 0};
    int n = poll(&ready, 1, wait);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) throw SystemError(env, errno, syscall, "");
    if (n == 0 && deadline != nullptr && MillisecondsLeft(*deadline) <= 0) return false;
  }
}

// Connects `fd` to `address`, giving up at `deadline`; 0 or the errno
// (ETIMEDOUT once the deadline passed). The socket is non-blocking for the
// connect only, so that a timeout and a signal are handled alike for Unix
// and TCP sockets; a Unix listener with a full backlog is tried again.
int ConnectWithin(const Napi::Env& env, int fd, const sockaddr* address, socklen_t length, const timespec& deadline) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) return errno;
  int err;
  for (;;) {
    err = connect(fd, address, length) == 0 ? 0 : errno;
    if (err != EAGAIN || address->sa_family != AF_UNIX) break;
    if (MillisecondsLeft(deadline) <= 0) return ETIMEDOUT;
    poll(nullptr, 0, 1);
  }
  if (err == EINPROGRESS || err == EINTR) {
    if (!PollUntil(env, fd, POLLOUT, &deadline, "connect")) return ETIMEDOUT;
    socklen_t size = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &size) != 0) err = errno;
  }
  if (err == 0 && fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) err = errno;
  return err;
}

// Closes `fd` if a connect attempt throws.
struct CloseUnlessKept {
  int fd;
  ~CloseUnlessKept() {
    if (fd >= 0) close(fd);
  }
};

// connectUnix(path, timeoutMs) -> fd. A path starting with NUL names an
// abstract socket. libuv (Node 20) binds an abstract name padded with NULs
// to the whole of sun_path, newer ones with its exact length; both are tried.
Napi::Value ConnectUnix(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  double ms = TimeoutArgument(info, 1);
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  bool abstract = !path.empty() && path[0] == '\0';
  if (path.empty() || path.size() > sizeof(address.sun_path) - (abstract ? 0 : 1)) {
    throw Napi::RangeError::New(env, "path must be 1 to 107 bytes (108 for an abstract name)");
  }
  memcpy(address.sun_path, path.data(), path.size());
  socklen_t exact = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (abstract ? 0 : 1));
  socklen_t lengths[2] = {abstract ? static_cast<socklen_t>(sizeof(address)) : exact, exact};
  timespec deadline = DeadlineAfter(std::isfinite(ms) ? ms : 1e15);
  int err = 0;
  for (int attempt = 0; attempt < (abstract ? 2 : 1); attempt++) {
    CloseUnlessKept guard{socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (guard.fd < 0) throw SystemError(env, errno, "socket", "");
    err = ConnectWithin(env, guard.fd, reinterpret_cast<sockaddr*>(&address), lengths[attempt], deadline);
    if (err == 0) {
      int fd = guard.fd;
      guard.fd = -1;
      return Napi::Number::New(env, fd);
    }
    if (err != ECONNREFUSED) break;
  }
  throw SystemError(env, err, "connect", abstract ? "@" + path.substr(1) : path);
}

// connectTcp(host, port, timeoutMs) -> fd, with TCP_NODELAY set. Tries each
// address the host resolves to (getaddrinfo, blocking) until one accepts.
Napi::Value ConnectTcp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "host must be a string");
  std::string host = info[0].As<Napi::String>().Utf8Value();
  if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "port must be a number");
  double port = info[1].As<Napi::Number>().DoubleValue();
  if (!(port >= 0 && port < 65536) || port != std::floor(port)) throw Napi::RangeError::New(env, "port must be an integer in [0, 65535]");
  double ms = TimeoutArgument(info, 2);
  timespec deadline = DeadlineAfter(std::isfinite(ms) ? ms : 1e15);
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string service = std::to_string(static_cast<int>(port));
  std::string shown = host + ":" + service;
  int status = getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
  if (status != 0) {
    Napi::Error error = Napi::Error::New(env, std::string("getaddrinfo ") + gai_strerror(status) + " '" + host + "'");
    error.Set("code", Napi::String::New(env, status == EAI_NONAME ? "ENOTFOUND" : "EAI_FAIL"));
    error.Set("syscall", Napi::String::New(env, "getaddrinfo"));
    throw error;
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> addresses(found, freeaddrinfo);
  int err = EADDRNOTAVAIL;
  const char* failed = "connect";
  for (addrinfo* each = found; each != nullptr; each = each->ai_next) {
    CloseUnlessKept guard{socket(each->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    if (guard.fd < 0) {
      err = errno;
      failed = "socket";
      continue;
    }
    err = ConnectWithin(env, guard.fd, each->ai_addr, each->ai_addrlen, deadline);
    failed = "connect";
    if (err != 0) continue;
    int on = 1;
    setsockopt(guard.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    int fd = guard.fd;
    guard.fd = -1;
    return Napi::Number::New(env, fd);
  }
  throw SystemError(env, err, failed, shown);
}

// sendAll(fd, bytes): writes every byte, blocking as long as it takes (the
// peer reads, or the connection breaks: EPIPE, ECONNRESET; no SIGPIPE).
Napi::Value SendAll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = SocketArgument(env, info[0]);
  size_t length;
  uint8_t* bytes = TypedArrayBytes(env, info[1], "bytes", &length);
  size_t done = 0;
  while (done < length) {
    ssize_t sent = send(fd, bytes + done, length - done, MSG_NOSIGNAL);
    if (sent >= 0) {
      done += static_cast<size_t>(sent);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      PollUntil(env, fd, POLLOUT, nullptr, "send");
    } else if (errno != EINTR) {
      throw SystemError(env, errno, "send", "");
    }
  }
  return env.Undefined();
}

// sendNow(fd, bytes) -> bytes sent by one send() that does not wait, -1 when
// the socket's buffer is full; throws the connection's error (EPIPE, ...).
Napi::Value SendNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = SocketArgument(env, info[0]);
  size_t length;
  uint8_t* bytes = TypedArrayBytes(env, info[1], "bytes", &length);
  for (;;) {
    ssize_t sent = send(fd, bytes, length, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) return Napi::Number::New(env, static_cast<double>(sent));
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    if (errno != EINTR) throw SystemError(env, errno, "send", "");
  }
}

// receiveInto(fd, target, timeoutMs) -> bytes received into `target` (at
// least 1), or 0 once the peer has closed. Throws ETIMEDOUT when nothing
// came within timeoutMs (Infinity: wait as long as it takes), and the
// connection's error (ECONNRESET, ...) if it broke.
Napi::Value ReceiveInto(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = SocketArgument(env, info[0]);
  size_t length;
  uint8_t* target = TypedArrayBytes(env, info[1], "target", &length);
  if (length == 0) throw Napi::RangeError::New(env, "target must not be empty");
  double ms = TimeoutArgument(info, 2);
  timespec deadline;
  if (std::isfinite(ms)) deadline = DeadlineAfter(ms);
  for (;;) {
    // Without a timeout the recv itself blocks: one system call per reply.
    if (std::isfinite(ms) && !PollUntil(env, fd, POLLIN, &deadline, "recv")) throw SystemError(env, ETIMEDOUT, "recv", "");
    ssize_t got = recv(fd, target, length, 0);
    if (got >= 0) return Napi::Number::New(env, static_cast<double>(got));
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (!std::isfinite(ms)) PollUntil(env, fd, POLLIN, nullptr, "recv");
    } else if (errno != EINTR) {
      throw SystemError(env, errno, "recv", "");
    }
  }
}

// receiveNow(fd, target) -> bytes received into `target`, 0 once the peer
// has closed, or -1 when nothing is there yet: one non-blocking recv, for
// callers that poll for a reply a little before they block on it (an
// exception per empty poll would cost more than the recv itself).
Napi::Value ReceiveNow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = SocketArgument(env, info[0]);
  size_t length;
  uint8_t* target = TypedArrayBytes(env, info[1], "target", &length);
  if (length == 0) throw Napi::RangeError::New(env, "target must not be empty");
  for (;;) {
    ssize_t got = recv(fd, target, length, MSG_DONTWAIT);
    if (got >= 0) return Napi::Number::New(env, static_cast<double>(got));
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    if (errno != EINTR) throw SystemError(env, errno, "recv", "");
  }
}

// closeSocket(fd): closes a descriptor returned by connectUnix/connectTcp.
Napi::Value CloseSocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (close(SocketArgument(env, info[0])) != 0 && errno != EINTR) throw SystemError(env, errno, "close", "");
  return env.Undefined();
}

// A socket watched by the event loop for the peer's hang-up only: data that
// arrives wakes nothing, so replies stay with the blocking calls above.
struct HangupWatch {
  uv_poll_t poll;
  napi_env env;
  Napi::FunctionReference callback;
  Napi::AsyncContext* context;
  // Shared with the JS stop(), which must not touch a freed watch.
  std::shared_ptr<bool> closed;
};

void FreeHangupWatch(uv_handle_t* handle) {
  HangupWatch* watch = static_cast<HangupWatch*>(handle->data);
  delete watch->context;
  delete watch;
}

// Closes the watch once; it is freed on a later loop turn.
void CloseHangupWatch(HangupWatch* watch) {
  if (*watch->closed) return;
  *watch->closed = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll), FreeHangupWatch);
}

void OnHangup(uv_poll_t* poll, int status, int events) {
  HangupWatch* watch = static_cast<HangupWatch*>(poll->data);
  if (status == 0 && (events & UV_DISCONNECT) == 0) return;
  uv_poll_stop(poll);
  {
    Napi::Env env(watch->env);
    Napi::HandleScope scope(env);
    CallBackFromLoop(env, watch->callback, {}, *watch->context);
  }
  CloseHangupWatch(watch);
}

// watchHangup(fd, callback()) -> stop(): calls back once when the peer has
// closed or the connection broke; unref'd, so it never keeps the loop alive.
// stop() must be called before the descriptor is closed. The descriptor
// stays blocking (libuv makes a polled one non-blocking; this undoes it).
Napi::Value WatchHangup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = SocketArgument(env, info[0]);
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) throw SystemError(env, errno, "fcntl", "");
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  HangupWatch* watch = new HangupWatch();
  watch->env = env;
  watch->closed = std::make_shared<bool>(false);
  watch->poll.data = watch;
  int err = uv_poll_init(loop, &watch->poll, fd);
  if (err != 0) {
    delete watch;
    throw SystemError(env, -err, "uv_poll_init", "");
  }
  fcntl(fd, F_SETFL, flags);
  watch->callback = Napi::Persistent(info[1].As<Napi::Function>());
  watch->context = new Napi::AsyncContext(env, "multiproc.watchHangup");
  err = uv_poll_start(&watch->poll, UV_DISCONNECT, OnHangup);
  if (err != 0) {
    CloseHangupWatch(watch);
    throw SystemError(env, -err, "uv_poll_start", "");
  }
  uv_unref(reinterpret_cast<uv_handle_t*>(&watch->poll));
  std::shared_ptr<bool> closed = watch->closed;
  return Napi::Function::New(env, [watch, closed](const Napi::CallbackInfo& i) {
    if (!*closed) CloseHangupWatch(watch);
    return i.Env().Undefined();
  }, "stop");
}

}  // namespace

void InitBlockingSocket(Napi::Env env, Napi::Object exports) {
  exports.Set("connectUnix", Napi::Function::New(env, ConnectUnix, "connectUnix"));
  exports.Set("connectTcp", Napi::Function::New(env, ConnectTcp, "connectTcp"));
  exports.Set("sendAll", Napi::Function::New(env, SendAll, "sendAll"));
  exports.Set("receiveInto", Napi::Function::New(env, ReceiveInto, "receiveInto"));
  exports.Set("receiveNow", Napi::Function::New(env, ReceiveNow, "receiveNow"));
  exports.Set("sendNow", Napi::Function::New(env, SendNow, "sendNow"));
  exports.Set("watchHangup", Napi::Function::New(env, WatchHangup, "watchHangup"));
  exports.Set("closeSocket", Napi::Function::New(env, CloseSocket, "closeSocket"));
}

}  // namespace multiproc
