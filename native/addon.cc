// Entry point: a context-aware module (NODE_API_MODULE), so the addon loads
// in the main thread and in every worker thread, each with its own state.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>
#include "common.h"

namespace multiproc {

Napi::Error SystemError(Napi::Env env, int err, const char* syscall, const std::string& path) {
  const char* code = uv_err_name(-err);
  std::string message = std::string(code) + ": " + std::strerror(err) + ", " + syscall;
  if (!path.empty()) message += " '" + path + "'";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) error.Set("path", Napi::String::New(env, path));
  return error;
}

timespec DeadlineAfter(double ms) {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  // Clamp so absurdly large finite timeouts cannot overflow time_t.
  double seconds = std::fmin(ms / 1000.0, 1e12);
  double whole = std::floor(seconds);
  long nanos = static_cast<long>((seconds - whole) * 1e9) + now.tv_nsec;
  timespec deadline;
  deadline.tv_sec = now.tv_sec + static_cast<time_t>(whole) + nanos / 1000000000L;
  deadline.tv_nsec = nanos % 1000000000L;
  return deadline;
}

int* CellAddress(const Napi::CallbackInfo& info, size_t arrayArg, size_t indexArg) {
  Napi::Env env = info.Env();
  if (!info[arrayArg].IsTypedArray() ||
      info[arrayArg].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env, "i32 must be an Int32Array");
  }
  Napi::Int32Array array = info[arrayArg].As<Napi::Int32Array>();
  if (!info[indexArg].IsNumber()) throw Napi::TypeError::New(env, "index must be a number");
  double index = info[indexArg].As<Napi::Number>().DoubleValue();
  if (!(index >= 0) || index != std::floor(index) || index >= static_cast<double>(array.ElementLength())) {
    throw Napi::RangeError::New(env, "index must be an integer in [0, i32.length)");
  }
  return array.Data() + static_cast<size_t>(index);
}

static Napi::Value SetParentDeathSignal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "signal must be a number");
  int signal = info[0].As<Napi::Number>().Int32Value();
  if (prctl(PR_SET_PDEATHSIG, signal) != 0) throw SystemError(env, errno, "prctl", "");
  return env.Undefined();
}

// The kernel thread id of the calling JS thread: unique machine-wide while
// the thread lives, so it identifies a lock owner across processes and
// worker threads alike.
static Napi::Value GetThreadId(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(syscall(SYS_gettid)));
}

// spawnWithStdinPipe(file, argv): starts `file` in a session of its own,
// with a new pipe as its stdin, /dev/null as its stdout and this process's
// stderr, and returns its pid and the pipe's write end (close-on-exec, so
// children do not inherit it). The resource tracker's start: posix_spawn
// shares the address space until exec (vfork), where Node's child_process
// copies every page table of this process first (3 ms here for a program
// with a pool's worth of code). Never reaped here: the tracker ends only
// after the process that holds the write end has gone.
static Napi::Value SpawnWithStdinPipe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "file must be a string");
  if (!info[1].IsArray()) throw Napi::TypeError::New(env, "argv must be an array of strings");
  std::string file = info[0].As<Napi::String>().Utf8Value();
  Napi::Array argvArray = info[1].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < argvArray.Length(); i++) {
    Napi::Value arg = argvArray.Get(i);
    if (!arg.IsString()) throw Napi::TypeError::New(env, "argv must be an array of strings");
    args.push_back(arg.As<Napi::String>().Utf8Value());
  }
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  int ends[2];
  if (pipe2(ends, O_CLOEXEC) != 0) throw SystemError(env, errno, "pipe2", "");
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attributes;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attributes);
  posix_spawn_file_actions_adddup2(&actions, ends[0], 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  // Node's own stdio may be close-on-exec; a dup2 onto itself clears that (POSIX, glibc >= 2.29).
  posix_spawn_file_actions_adddup2(&actions, 2, 2);
  // Node ignores SIGPIPE and may block signals on its threads: the child starts with the defaults.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attributes, &none);
  posix_spawnattr_setsigdefault(&attributes, &all);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int err = posix_spawn(&pid, file.c_str(), &actions, &attributes, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(ends[0]);
  if (err != 0) {
    close(ends[1]);
    throw SystemError(env, err, "posix_spawn", file);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("pid", Napi::Number::New(env, pid));
  result.Set("writeFd", Napi::Number::New(env, ends[1]));
  return result;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitSegments(env, exports);
  InitFutex(env, exports);
  InitMemory(env, exports);
  InitAsyncWait(env, exports);
  InitBufferPool(env, exports);
  InitExitProxy(env, exports);
  InitFork(env, exports);
  InitChildLink(env, exports);
  InitExitReports(env, exports);
  InitReadOnlyGuard(env, exports);
  InitBlockingSocket(env, exports);
  InitZygoteRequests(env, exports);
  exports.Set("setParentDeathSignal", Napi::Function::New(env, SetParentDeathSignal, "setParentDeathSignal"));
  exports.Set("gettid", Napi::Function::New(env, GetThreadId, "gettid"));
  exports.Set("spawnWithStdinPipe", Napi::Function::New(env, SpawnWithStdinPipe, "spawnWithStdinPipe"));
  return exports;
}

}  // namespace multiproc

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return multiproc::Init(env, exports); }

NODE_API_MODULE(multiproc_native, InitModule)
