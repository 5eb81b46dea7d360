// Blocking futex wait and wake. Never FUTEX_PRIVATE_FLAG: the words live in
// MAP_SHARED memory and waiters sit in other processes, which V8's
// Atomics.wait/notify (private, in-process queues) cannot reach.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cerrno>
#include <climits>
#include <cmath>
#include "common.h"

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

void InitFutex(Napi::Env env, Napi::Object exports) {
  exports.Set("futexWait", Napi::Function::New(env, FutexWait, "futexWait"));
  exports.Set("futexWake", Napi::Function::New(env, FutexWake, "futexWake"));
}

}  // namespace multiproc
