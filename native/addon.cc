// Entry point: a context-aware module (NODE_API_MODULE), so the addon loads
// in the main thread and in every worker thread, each with its own state.
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>
#include <cerrno>
#include <cmath>
#include <cstring>
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

// mkfifo(path, 0600): the resource tracker's FIFO, without running mkfifo(1).
static Napi::Value MakeFifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "path must be a string");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (mkfifo(path.c_str(), 0600) != 0) throw SystemError(env, errno, "mkfifo", path);
  return env.Undefined();
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
  exports.Set("setParentDeathSignal", Napi::Function::New(env, SetParentDeathSignal, "setParentDeathSignal"));
  exports.Set("gettid", Napi::Function::New(env, GetThreadId, "gettid"));
  exports.Set("makeFifo", Napi::Function::New(env, MakeFifo, "makeFifo"));
  return exports;
}

}  // namespace multiproc

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return multiproc::Init(env, exports); }

NODE_API_MODULE(multiproc_native, InitModule)
