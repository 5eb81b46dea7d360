// What a parent shares with children that libuv did not start (forked by
// this process or by the forkserver zygote): watching a child's exit through
// a pidfd and reaping it, and the Unix sockets between them, with descriptors
// passed over them (SCM_RIGHTS). The fork itself is in fork.cc.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>
#include <unordered_map>
#include <node.h>
#include "common.h"

namespace multiproc {

namespace {

// One child being watched for its exit through a pidfd, polled by the event loop.
struct ExitWatch {
  uv_poll_t poll;
  pid_t pid;
  int pidfd;
  napi_env env;
  Napi::FunctionReference callback;
  Napi::AsyncContext* context;
  // Shared with the JS handle's ref()/unref(), which must not touch a freed handle.
  std::shared_ptr<bool> done;
};

// The live exit watches, by child: whoever looks for teardown proxies by
// name must not reap one of these (see IsWatchedChild). JS thread only.
std::unordered_map<pid_t, ExitWatch*> watches;

// The pidfd is already closed: OnPidfdReadable, the only closer, closes it.
void FreeWatch(uv_handle_t* handle) {
  ExitWatch* watch = static_cast<ExitWatch*>(handle->data);
  delete watch->context;
  delete watch;
}

void OnPidfdReadable(uv_poll_t* poll, int status, int events) {
  ExitWatch* watch = static_cast<ExitWatch*>(poll->data);
  int wstatus = 0;
  pid_t reaped;
  do {
    reaped = waitpid(watch->pid, &wstatus, WNOHANG);
  } while (reaped < 0 && errno == EINTR);
  if (reaped == 0) return;  // readable before the exit was recorded: poll again
  // Closed before the callback, so that a join() it settles finds the
  // descriptor gone. uv_close first: it takes the descriptor out of epoll
  // now, and closing it later could take out a new descriptor that reused
  // its number in the meantime.
  uv_close(reinterpret_cast<uv_handle_t*>(poll), FreeWatch);
  close(watch->pidfd);
  watches.erase(watch->pid);
  *watch->done = true;
  Napi::Env env(watch->env);
  {
    Napi::HandleScope scope(env);
    // Python's convention: the exit status, or -N after signal N; null if
    // someone else reaped it (it is not ours, e.g. a sibling in a forked child).
    Napi::Value code = env.Null();
    if (reaped == watch->pid) {
      code = Napi::Number::New(env, WIFSIGNALED(wstatus) ? -WTERMSIG(wstatus) : WEXITSTATUS(wstatus));
    }
    CallBackFromLoop(env, watch->callback, {code}, *watch->context);
  }
}

// watchExit(pid, callback(code)): reaps `pid` when it exits and reports its
// code; returns a handle { ref(), unref(), close() }. Only for children that
// libuv did not start (libuv reaps its own).
Napi::Value WatchExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "pid must be a number");
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0U));
  if (pidfd < 0) throw SystemError(env, errno, "pidfd_open", "");
  fcntl(pidfd, F_SETFD, FD_CLOEXEC);
  ExitWatch* watch = new ExitWatch();
  watch->pid = pid;
  watch->pidfd = pidfd;
  watch->env = env;
  watch->callback = Napi::Persistent(info[1].As<Napi::Function>());
  watch->context = new Napi::AsyncContext(env, "multiproc.watchExit");
  watch->poll.data = watch;
  int err = uv_poll_init(loop, &watch->poll, pidfd);
  if (err == 0) err = uv_poll_start(&watch->poll, UV_READABLE, OnPidfdReadable);
  if (err != 0) {
    close(pidfd);
    delete watch->context;
    delete watch;
    throw SystemError(env, -err, "uv_poll_start", "");
  }
  watches[pid] = watch;
  uv_handle_t* handle = reinterpret_cast<uv_handle_t*>(&watch->poll);
  Napi::Object control = Napi::Object::New(env);
  auto done = std::make_shared<bool>(false);
  watch->done = done;
  control.Set("ref", Napi::Function::New(env, [handle, done](const Napi::CallbackInfo& i) {
    if (!*done && !uv_is_closing(handle)) uv_ref(handle);
    return i.Env().Undefined();
  }));
  control.Set("unref", Napi::Function::New(env, [handle, done](const Napi::CallbackInfo& i) {
    if (!*done && !uv_is_closing(handle)) uv_unref(handle);
    return i.Env().Undefined();
  }));
  return control;
}

// socketPair(): a connected pair of Unix stream sockets (close-on-exec), for
// a forked child's control channel and for the zygote's fd passing.
Napi::Value SocketPair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) throw SystemError(env, errno, "socketpair", "");
  Napi::Array pair = Napi::Array::New(env, 2);
  pair.Set(0u, Napi::Number::New(env, fds[0]));
  pair.Set(1u, Napi::Number::New(env, fds[1]));
  return pair;
}

int FdArgument(const Napi::Env& env, const Napi::Value& value, const char* name) {
  if (!value.IsNumber()) throw Napi::TypeError::New(env, std::string(name) + " must be a file descriptor number");
  return value.As<Napi::Number>().Int32Value();
}

}  // namespace

bool WaitReady(int fd, short events, int timeoutMs) {
  pollfd ready = {fd, events, 0};
  int n;
  do {
    n = poll(&ready, 1, timeoutMs);
  } while (n < 0 && errno == EINTR);
  return n > 0 && (ready.revents & events) != 0;
}

int SendWhole(int sock, const char* bytes, size_t length, int timeoutMs) {
  for (size_t done = 0; done < length;) {
    if (!WaitReady(sock, POLLOUT, timeoutMs)) return ETIMEDOUT;
    ssize_t sent = send(sock, bytes + done, length - done, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0) return errno;
    done += static_cast<size_t>(sent);
  }
  return 0;
}

ssize_t ReceiveWithDescriptor(int sock, void* into, size_t length, int flags, int* fd) {
  iovec io = {into, length};
  msghdr message = {};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  message.msg_control = control;
  message.msg_controllen = sizeof(control);
  ssize_t got;
  do {
    got = recvmsg(sock, &message, MSG_CMSG_CLOEXEC | flags);
  } while (got < 0 && errno == EINTR);
  if (got <= 0) return got;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr; header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(header), sizeof(int));
  }
  return got;
}

namespace {

// sendMessage(socket, bytes, fd | -1, timeoutMs): a blocking send of a
// message, with `fd` attached (SCM_RIGHTS) to its first byte when it is not -1.
Napi::Value SendMessage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = FdArgument(env, info[0], "socket");
  size_t length;
  uint8_t* bytes = TypedArrayBytes(env, info[1], "bytes", &length);
  int fd = FdArgument(env, info[2], "fd");
  int timeoutMs = info[3].IsNumber() ? info[3].As<Napi::Number>().Int32Value() : -1;
  iovec io = {bytes, length};
  msghdr message = {};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (fd >= 0) {
    message.msg_control = control;
    message.msg_controllen = sizeof(control);
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(header), &fd, sizeof(int));
  }
  if (!WaitReady(sock, POLLOUT, timeoutMs)) throw SystemError(env, ETIMEDOUT, "sendmsg", "");
  ssize_t sent;
  do {
    sent = sendmsg(sock, &message, MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) throw SystemError(env, errno, "sendmsg", "");
  // A signal can cut a large message short: the rest follows, without the descriptor.
  int err = SendWhole(sock, reinterpret_cast<const char*>(bytes) + sent, length - static_cast<size_t>(sent), timeoutMs);
  if (err != 0) throw SystemError(env, err, "send", "");
  return env.Undefined();
}

// receiveMessage(socket, maxBytes, timeoutMs): one blocking recvmsg;
// { bytes, fd } (fd -1 when none came), or null if the peer has gone.
Napi::Value ReceiveMessage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int sock = FdArgument(env, info[0], "socket");
  size_t maxBytes = IndexArgument(env, info[1], "maxBytes");
  int timeoutMs = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : -1;
  if (!WaitReady(sock, POLLIN, timeoutMs)) {
    pollfd check = {sock, POLLIN, 0};
    if (poll(&check, 1, 0) > 0 && (check.revents & (POLLHUP | POLLERR))) return env.Null();
    throw SystemError(env, ETIMEDOUT, "recvmsg", "");
  }
  Napi::Buffer<uint8_t> bytes = Napi::Buffer<uint8_t>::New(env, maxBytes == 0 ? 1 : maxBytes);
  int fd = -1;
  ssize_t got = ReceiveWithDescriptor(sock, bytes.Data(), bytes.Length(), 0, &fd);
  if (got < 0) throw SystemError(env, errno, "recvmsg", "");
  if (got == 0) return env.Null();
  Napi::Object result = Napi::Object::New(env);
  result.Set("bytes", Napi::Buffer<uint8_t>::Copy(env, bytes.Data(), static_cast<size_t>(got)));
  result.Set("fd", Napi::Number::New(env, fd));
  return result;
}

// closeFd(fd): for descriptors that no Node handle owns.
Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  close(FdArgument(env, info[0], "fd"));
  return env.Undefined();
}

}  // namespace

bool IsWatchedChild(pid_t pid) { return watches.count(pid) > 0; }

// A forked child's copies of its parent's exit watches name the parent's
// children (its siblings), which it can never reap. Left in its event loop,
// they kept it alive until every older sibling had exited, and each
// sibling's exit woke every child alive then, to call back into JavaScript
// for nothing (O(n²) wake-ups in a burst of n). They end without a callback.
void DropInheritedExitWatches() {
  for (auto& [pid, watch] : watches) {
    uv_close(reinterpret_cast<uv_handle_t*>(&watch->poll), FreeWatch);
    close(watch->pidfd);
    *watch->done = true;
  }
  watches.clear();
}

void InitChildLink(Napi::Env env, Napi::Object exports) {
  exports.Set("watchExit", Napi::Function::New(env, WatchExit, "watchExit"));
  exports.Set("socketPair", Napi::Function::New(env, SocketPair, "socketPair"));
  exports.Set("sendMessage", Napi::Function::New(env, SendMessage, "sendMessage"));
  exports.Set("receiveMessage", Napi::Function::New(env, ReceiveMessage, "receiveMessage"));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd, "closeFd"));
}

}  // namespace multiproc
