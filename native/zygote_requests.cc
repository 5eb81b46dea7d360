// The forkserver zygote's requests (src/child/zygote-main.ts holds the rest
// of its side, src/process/zygote.ts the program's). A request is one frame
// on the zygote's descriptor socket: two uint32 (the key's length, the
// body's), the key, and the body (the launch payload, v8-serialized), with
// the child's channel descriptor attached to the first byte (SCM_RIGHTS).
// The key names what the zygote must find before it forks: the target, a
// Process subclass, the functions among the arguments.
//
// Why native: after each fork, every page the zygote writes is copied for
// it first (copy-on-write, the child still shares it). Serving a request in
// JavaScript wrote ~250 pages (stream reads, the decoder, feedback vectors,
// promises), and the program waits for the reply with the pid: in a burst,
// those copies were most of each start's wait. So once JavaScript has served
// a key (imported and found its functions), later requests with that key are
// forked from here, without entering JavaScript: the zygote then writes only
// the few pages of this file's buffers and the fork's own. The child enters
// JavaScript here, with the body and its descriptor. Any other request goes
// to JavaScript, which also serves every request while a spare is waiting.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_set>
#include <vector>
#include "common.h"

namespace multiproc {

namespace {

// The program sends a request whole, at once; a frame that stalls longer is a protocol failure.
const int FRAME_TIMEOUT_MS = 10000;
const uint32_t MAX_PART_BYTES = 1u << 30;
// A pre-forked spare is made once requests have stopped for this long: not
// between the requests of a burst, where each spare would cost a fork.
const uint64_t QUIET_BEFORE_SPARE_MS = 5;
const size_t KEEP_BODY_BYTES = 256 * 1024;

struct RequestServer {
  uv_poll_t poll;
  uv_timer_t quiet;
  napi_env env;
  v8::Global<v8::Context> context;
  int socket;
  Napi::FunctionReference onRequest;
  Napi::FunctionReference onForked;
  Napi::FunctionReference onQuiet;
  Napi::AsyncContext* asyncContext;
  bool fastForks;
  bool stopped;
  std::unordered_set<std::string> served;
  // Kept between requests, so that a request writes the same few pages.
  std::string key;
  std::vector<char> body;
};

RequestServer* server = nullptr;

bool ReadFully(int fd, char* into, size_t length) {
  for (size_t have = 0; have < length;) {
    if (!WaitReady(fd, POLLIN, FRAME_TIMEOUT_MS)) return false;
    ssize_t got = recv(fd, into + have, length - have, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    have += static_cast<size_t>(got);
  }
  return true;
}

enum class Frame { kRead, kNone, kGone };

// Reads one frame into server->key and server->body; its descriptor in `fd`
// (-1 if none came). kGone if the program has gone or broke the protocol.
Frame ReadFrame(RequestServer* s, int* fd) {
  *fd = -1;
  uint32_t header[2];
  ssize_t got = ReceiveWithDescriptor(s->socket, header, sizeof header, MSG_DONTWAIT, fd);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Frame::kNone;
  if (got <= 0) return Frame::kGone;
  char* headerBytes = reinterpret_cast<char*>(header);
  if (!ReadFully(s->socket, headerBytes + got, sizeof header - static_cast<size_t>(got))) return Frame::kGone;
  if (header[0] > MAX_PART_BYTES || header[1] > MAX_PART_BYTES) return Frame::kGone;
  s->key.resize(header[0]);
  s->body.resize(header[1]);
  bool whole = ReadFully(s->socket, s->key.data(), header[0]) && ReadFully(s->socket, s->body.data(), header[1]);
  return whole ? Frame::kRead : Frame::kGone;
}

void Stop(RequestServer* s) {
  if (s->stopped) return;
  s->stopped = true;
  uv_poll_stop(&s->poll);
  uv_timer_stop(&s->quiet);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->poll), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&s->quiet), nullptr);
}

void OnQuiet(uv_timer_t* timer) {
  RequestServer* s = static_cast<RequestServer*>(timer->data);
  Napi::Env env(s->env);
  Napi::HandleScope scope(env);
  CallBackFromLoop(env, s->onQuiet, {}, *s->asyncContext);
}

// Forks for the request just read if JavaScript need not see it; true if done here.
bool ForkHere(RequestServer* s, Napi::Env env, int fd) {
  uv_loop_t* loop = s->poll.loop;
  // A libuv request in flight would stay counted forever in the child (see fork.cc): JavaScript waits for it.
  if (!s->fastForks || fd < 0 || loop->active_reqs.count > 0 || s->served.count(s->key) == 0) return false;
  pid_t pid;
  try {
    pid = ForkThisProcess(env);
  } catch (const Napi::Error&) {
    return false;  // JavaScript forks again, and replies with the error if it fails too.
  }
  char reply[64];
  if (pid > 0) {
    close(fd);
    const char* failedCall = "";
    int err = WatchReportedExit(pid, &failedCall);
    if (err != 0) {
      // Without its exit report the program would wait for this child forever.
      kill(pid, SIGKILL);
      snprintf(reply, sizeof reply, "{\"error\":\"%s failed: %s\"}", failedCall, strerror(err));
    } else {
      snprintf(reply, sizeof reply, "{\"pid\":%d,\"native\":true}", static_cast<int>(pid));
    }
    // A program that has gone sees the zygote's exit through its end of the socket.
    SendWhole(s->socket, reply, strlen(reply), -1);
    return true;
  }
  // The child: the zygote's requests are not its own.
  Stop(s);
  Napi::Buffer<char> body = Napi::Buffer<char>::Copy(env, s->body.data(), s->body.size());
  CallBackFromLoop(env, s->onForked, {body, Napi::Number::New(env, fd)}, *s->asyncContext);
  return true;
}

void OnReadable(uv_poll_t* poll, int status, int events) {
  RequestServer* s = static_cast<RequestServer*>(poll->data);
  Napi::Env env(s->env);
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  v8::HandleScope handles(isolate);
  v8::Context::Scope inContext(s->context.Get(isolate));
  Napi::HandleScope scope(env);
  int fd = -1;
  Frame frame = status < 0 ? Frame::kGone : ReadFrame(s, &fd);
  if (frame == Frame::kNone) return;
  if (frame == Frame::kGone) {
    if (fd >= 0) close(fd);
    Stop(s);
    CallBackFromLoop(env, s->onRequest, {env.Null(), env.Null(), Napi::Number::New(env, -1)}, *s->asyncContext);
    return;
  }
  // Restarted by every request: a spare is made once they pause, in either path.
  uv_timer_start(&s->quiet, OnQuiet, QUIET_BEFORE_SPARE_MS, 0);
  if (!ForkHere(s, env, fd)) {
    Napi::Buffer<char> body = Napi::Buffer<char>::Copy(env, s->body.data(), s->body.size());
    CallBackFromLoop(env, s->onRequest, {body, Napi::String::New(env, s->key), Napi::Number::New(env, fd)}, *s->asyncContext);
  }
  // A large payload's buffer is not kept: every child would inherit it.
  if (!s->stopped && s->body.capacity() > KEEP_BODY_BYTES) std::vector<char>().swap(s->body);
}

// serveForkRequests(socket, onRequest, onForked, onQuiet): reads requests
// from `socket` as they come. onRequest(body, key, fd) gets those JavaScript
// must serve (body null: the program has gone, or broke the protocol);
// onForked(body, fd) runs in a child forked here; onQuiet() once requests
// have paused. Unref'd: the zygote's channel keeps it alive.
Napi::Value ServeForkRequests(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (server != nullptr) throw Napi::Error::New(env, "serveForkRequests: already serving");
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "socket must be a file descriptor number");
  for (size_t i = 1; i <= 3; i++) {
    if (!info[i].IsFunction()) throw Napi::TypeError::New(env, "onRequest, onForked and onQuiet must be functions");
  }
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  // Lives as long as the zygote serves; in a child, its handles are closed and it is left alone.
  RequestServer* s = new RequestServer();
  s->env = env;
  s->context.Reset(isolate, isolate->GetCurrentContext());
  s->socket = info[0].As<Napi::Number>().Int32Value();
  s->onRequest = Napi::Persistent(info[1].As<Napi::Function>());
  s->onForked = Napi::Persistent(info[2].As<Napi::Function>());
  s->onQuiet = Napi::Persistent(info[3].As<Napi::Function>());
  s->asyncContext = new Napi::AsyncContext(env, "multiproc.zygoteRequest");
  s->fastForks = false;
  s->stopped = false;
  s->poll.data = s;
  s->quiet.data = s;
  int err = uv_poll_init(loop, &s->poll, s->socket);
  if (err == 0) err = uv_poll_start(&s->poll, UV_READABLE | UV_DISCONNECT, OnReadable);
  if (err != 0) throw SystemError(env, -err, "uv_poll_start", "");
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->poll));
  uv_timer_init(loop, &s->quiet);
  uv_unref(reinterpret_cast<uv_handle_t*>(&s->quiet));
  server = s;
  return env.Undefined();
}

// servedRequest(key): requests with `key` may be forked natively from now on.
Napi::Value ServedRequest(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "key must be a string");
  if (server != nullptr) server->served.insert(info[0].As<Napi::String>().Utf8Value());
  return env.Undefined();
}

// allowNativeForks(allowed): off while a spare waits, or before the canary has passed.
Napi::Value AllowNativeForks(const Napi::CallbackInfo& info) {
  if (server != nullptr) server->fastForks = info[0].ToBoolean().Value();
  return info.Env().Undefined();
}

// stopServingForkRequests(): in a child forked by JavaScript, before it closes the zygote's socket.
Napi::Value StopServingForkRequests(const Napi::CallbackInfo& info) {
  if (server != nullptr) Stop(server);
  return info.Env().Undefined();
}

}  // namespace

void InitZygoteRequests(Napi::Env env, Napi::Object exports) {
  exports.Set("serveForkRequests", Napi::Function::New(env, ServeForkRequests, "serveForkRequests"));
  exports.Set("servedRequest", Napi::Function::New(env, ServedRequest, "servedRequest"));
  exports.Set("allowNativeForks", Napi::Function::New(env, AllowNativeForks, "allowNativeForks"));
  exports.Set("stopServingForkRequests", Napi::Function::New(env, StopServingForkRequests, "stopServingForkRequests"));
}

}  // namespace multiproc
