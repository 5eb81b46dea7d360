// Blocking futex wait and wake. Never FUTEX_PRIVATE_FLAG: the words live in
// MAP_SHARED memory and waiters sit in other processes, which V8's
// Atomics.wait/notify (private, in-process queues) cannot reach.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sched.h>
#include <unistd.h>
#include <cerrno>
#include <climits>
#include <cmath>
#include "common.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

namespace multiproc {

WaitResult WaitShared(int* addr, int expected, const timespec* deadline) {
  for (;;) {
    // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so a
    // wait interrupted by a signal resumes without stretching the timeout.
    long r = syscall(SYS_futex, addr, FUTEX_WAIT_BITSET, expected, deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
    if (r == 0) return kWaitOk;
    if (errno == EAGAIN) return kWaitNotEqual;
    if (errno == ETIMEDOUT) return kWaitTimedOut;
    if (errno != EINTR) return kWaitNotEqual;
  }
}

double TimeoutArgument(const Napi::CallbackInfo& info, size_t arg) {
  if (!info[arg].IsNumber()) throw Napi::TypeError::New(info.Env(), "timeoutMs must be a number");
  double ms = info[arg].As<Napi::Number>().DoubleValue();
  if (!(ms >= 0)) throw Napi::RangeError::New(info.Env(), "timeoutMs must be >= 0 or Infinity");
  return ms;
}

static Napi::Value FutexWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int* addr = CellAddress(info, 0, 1);
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "expected must be a number");
  int expected = info[2].As<Napi::Number>().Int32Value();
  double ms = TimeoutArgument(info, 3);
  timespec deadline;
  if (std::isfinite(ms)) deadline = DeadlineAfter(ms);
  return Napi::Number::New(env, WaitShared(addr, expected, std::isfinite(ms) ? &deadline : nullptr));
}

static Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int* addr = CellAddress(info, 0, 1);
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "count must be a number");
  double count = info[2].As<Napi::Number>().DoubleValue();
  if (!(count >= 0)) throw Napi::RangeError::New(env, "count must be >= 0 or Infinity");
  int n = count >= static_cast<double>(INT_MAX) ? INT_MAX : static_cast<int>(count);
  long woken = syscall(SYS_futex, addr, FUTEX_WAKE, n, nullptr, nullptr, 0);
  if (woken < 0) throw SystemError(env, errno, "futex", "");
  return Napi::Number::New(env, static_cast<double>(woken));
}

// futexWaitAny(arrays, indices, expected, timeoutMs) -> 0 woken, 1 a word no
// longer held its expected value, 2 timed out, 4 unsupported (kernel without
// futex_waitv, < 5.16). Sleeps on up to 128 shared words at once, for wait()
// over several connections and queues.
static constexpr int kWaitUnsupported = 4;
static constexpr uint32_t kMaxWaitAny = 128;

static Napi::Value FutexWaitAny(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || !info[1].IsArray() || !info[2].IsArray()) {
    throw Napi::TypeError::New(env, "futexWaitAny(arrays, indices, expected, timeoutMs) takes three arrays");
  }
  Napi::Array arrays = info[0].As<Napi::Array>();
  Napi::Array indices = info[1].As<Napi::Array>();
  Napi::Array expected = info[2].As<Napi::Array>();
  uint32_t n = arrays.Length();
  if (n == 0 || n > kMaxWaitAny || indices.Length() != n || expected.Length() != n) {
    throw Napi::RangeError::New(env, "futexWaitAny takes 1 to 128 words, with as many indices and expected values");
  }
  double ms = TimeoutArgument(info, 3);
  struct futex_waitv waiters[kMaxWaitAny] = {};
  for (uint32_t i = 0; i < n; i++) {
    Napi::Value array = arrays[i];
    if (!array.IsTypedArray() || array.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      throw Napi::TypeError::New(env, "futexWaitAny: every array must be an Int32Array");
    }
    Napi::Int32Array i32 = array.As<Napi::Int32Array>();
    Napi::Value index = indices[i];
    Napi::Value value = expected[i];
    if (!index.IsNumber() || !value.IsNumber()) throw Napi::TypeError::New(env, "futexWaitAny: indices and expected values must be numbers");
    double at = index.As<Napi::Number>().DoubleValue();
    if (!(at >= 0) || at != std::floor(at) || at >= static_cast<double>(i32.ElementLength())) {
      throw Napi::RangeError::New(env, "futexWaitAny: an index is outside its Int32Array");
    }
    waiters[i].uaddr = reinterpret_cast<uintptr_t>(i32.Data() + static_cast<size_t>(at));
    waiters[i].val = static_cast<uint32_t>(value.As<Napi::Number>().Int32Value());
    waiters[i].flags = FUTEX_32;
  }
  timespec deadline;
  const bool finite = std::isfinite(ms);
  if (finite) deadline = DeadlineAfter(ms);
  for (;;) {
    long r = syscall(SYS_futex_waitv, waiters, n, 0, finite ? &deadline : nullptr, CLOCK_MONOTONIC);
    if (r >= 0) return Napi::Number::New(env, kWaitOk);
    if (errno == EINTR) continue;
    if (errno == ETIMEDOUT) return Napi::Number::New(env, kWaitTimedOut);
    if (errno == ENOSYS) return Napi::Number::New(env, kWaitUnsupported);
    return Napi::Number::New(env, kWaitNotEqual);
  }
}

// yieldThread(): sched_yield. A bounded spin calls it between its checks so
// that, on a machine with more busy processes than cores, the process it
// waits for gets the core instead of the spinner; on an idle core it
// returns at once.
Napi::Value YieldThread(const Napi::CallbackInfo& info) {
  sched_yield();
  return info.Env().Undefined();
}

void InitFutex(Napi::Env env, Napi::Object exports) {
  exports.Set("yieldThread", Napi::Function::New(env, YieldThread, "yieldThread"));
  exports.Set("futexWait", Napi::Function::New(env, FutexWait, "futexWait"));
  exports.Set("futexWake", Napi::Function::New(env, FutexWake, "futexWake"));
  exports.Set("futexWaitAny", Napi::Function::New(env, FutexWaitAny, "futexWaitAny"));
}

}  // namespace multiproc
