// Futex waits that never block the event loop. Each pending wait parks one
// thread of a small pool owned by this addon (per JS thread), NOT libuv's
// threadpool: a handful of parked waits there would stall all file I/O.
// Threads are reused from an idle list, so steady-state waits spawn nothing.
// Results come back through a napi threadsafe function, which runs the JS
// callback inside a proper callback scope (microtasks drain afterwards).
//
// Keep-alive: a wait submitted with ref=true refs the threadsafe function,
// so `await lock.acquire()` keeps a program alive exactly like pending I/O.
// A wait ends on wake, value mismatch, timeout or cancel (futexCancel): the
// thread waits with futex_waitv on the target word AND a private per-wait
// cancel word, so one wait can be cancelled without disturbing the other
// waiters on the same word. On kernels without futex_waitv (< 5.16) a cancel
// wakes every waiter on the word instead; callers loop on spurious wakeups.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>
#include "common.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

namespace multiproc {
namespace {

struct State;

struct Job {
  uint32_t id = 0;
  int* addr = nullptr;
  int expected = 0;
  bool hasDeadline = false;
  timespec deadline{};
  std::atomic<int> cancel{0};  // private futex word: 1 once cancelled
  WaitResult result = kWaitOk;
  bool ref = false;
  napi_ref array = nullptr;  // keeps the mapping alive while a thread waits on it
  napi_ref callback = nullptr;
};

struct State {
  napi_threadsafe_function tsfn = nullptr;
  std::mutex mutex;
  std::condition_variable wakeup;
  std::deque<Job*> queue;
  int idle = 0;
  bool quit = false;
  std::vector<std::thread> threads;
  // Touched on the JS thread only.
  std::unordered_map<uint32_t, Job*> pending;
  uint32_t nextId = 1;
  int refCount = 0;
};

std::atomic<bool> waitvMissing{false};

WaitResult RunJob(Job* job) {
  const timespec* deadline = job->hasDeadline ? &job->deadline : nullptr;
  if (!waitvMissing.load(std::memory_order_relaxed)) {
    struct futex_waitv waiters[2] = {};
    waiters[0].val = static_cast<uint32_t>(job->expected);
    waiters[0].uaddr = reinterpret_cast<uintptr_t>(job->addr);
    waiters[0].flags = FUTEX_32;
    waiters[1].val = 0;
    waiters[1].uaddr = reinterpret_cast<uintptr_t>(&job->cancel);
    waiters[1].flags = FUTEX_32 | FUTEX_PRIVATE_FLAG;
    for (;;) {
      long r = syscall(SYS_futex_waitv, waiters, 2, 0, deadline, CLOCK_MONOTONIC);
      if (r == 0) return kWaitOk;
      if (r == 1) return kWaitCancelled;
      if (errno == EAGAIN) return job->cancel.load() ? kWaitCancelled : kWaitNotEqual;
      if (errno == ETIMEDOUT) return kWaitTimedOut;
      if (errno == ENOSYS) {
        waitvMissing.store(true);
        break;
      }
      if (errno != EINTR) return kWaitNotEqual;
    }
  }
  if (job->cancel.load()) return kWaitCancelled;
  WaitResult result = WaitShared(job->addr, job->expected, deadline);
  return job->cancel.load() ? kWaitCancelled : result;
}

void RequestCancel(Job* job) {
  job->cancel.store(1);
  if (waitvMissing.load()) {
    syscall(SYS_futex, job->addr, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
  } else {
    syscall(SYS_futex, &job->cancel, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
}

void ThreadMain(State* state) {
  std::unique_lock<std::mutex> lock(state->mutex);
  for (;;) {
    if (!state->queue.empty()) {
      Job* job = state->queue.front();
      state->queue.pop_front();
      lock.unlock();
      job->result = RunJob(job);
      // Fails only while the environment is being torn down; the job's
      // references die with the environment then.
      if (napi_call_threadsafe_function(state->tsfn, job, napi_tsfn_nonblocking) != napi_ok) delete job;
      lock.lock();
      state->idle++;
      continue;
    }
    if (state->quit) return;
    state->wakeup.wait(lock);
  }
}

void Deliver(napi_env env, napi_value /*js_callback*/, void* context, void* data) {
  Job* job = static_cast<Job*>(data);
  if (env == nullptr) {  // threadsafe function torn down with items queued
    delete job;
    return;
  }
  State* state = static_cast<State*>(context);
  state->pending.erase(job->id);
  if (job->ref && --state->refCount == 0) napi_unref_threadsafe_function(env, state->tsfn);
  napi_value callback, receiver, argv[1];
  napi_get_reference_value(env, job->callback, &callback);
  napi_get_undefined(env, &receiver);
  napi_create_int32(env, job->result, &argv[0]);
  napi_delete_reference(env, job->callback);
  napi_delete_reference(env, job->array);
  delete job;
  napi_call_function(env, receiver, callback, 1, argv, nullptr);
}

// Runs before the threadsafe function's own cleanup (hooks run in reverse
// order of registration), so no pool thread can touch it after it is gone.
void Cleanup(void* arg) {
  State* state = static_cast<State*>(arg);
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->quit = true;
    for (auto& entry : state->pending) RequestCancel(entry.second);
  }
  state->wakeup.notify_all();
  for (std::thread& thread : state->threads) thread.join();
  delete state;
}

State* GetState(Napi::Env env) { return env.GetInstanceData<State>(); }

// futexWaitAsync(i32, index, expected, timeoutMs, ref, callback(result)) -> id
Napi::Value WaitAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State* state = GetState(env);
  int* addr = CellAddress(info, 0, 1);
  if (!info[2].IsNumber()) throw Napi::TypeError::New(env, "expected must be a number");
  double ms = TimeoutArgument(info, 3);
  if (!info[5].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  Job* job = new Job();
  job->addr = addr;
  job->expected = info[2].As<Napi::Number>().Int32Value();
  job->hasDeadline = std::isfinite(ms);
  if (job->hasDeadline) job->deadline = DeadlineAfter(ms);
  job->ref = info[4].ToBoolean().Value();
  napi_create_reference(env, info[0], 1, &job->array);
  napi_create_reference(env, info[5], 1, &job->callback);
  if (state->nextId == 0) state->nextId = 1;
  job->id = state->nextId++;
  state->pending[job->id] = job;
  if (job->ref && state->refCount++ == 0) napi_ref_threadsafe_function(env, state->tsfn);
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->queue.push_back(job);
    if (state->idle > 0) {
      state->idle--;
      state->wakeup.notify_one();
    } else {
      state->threads.emplace_back(ThreadMain, state);
    }
  }
  return Napi::Number::New(env, job->id);
}

// futexCancel(id) -> whether a pending wait was found; its callback still
// runs (with kWaitCancelled, or with its real result if that won the race).
Napi::Value Cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  State* state = GetState(env);
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "id must be a number");
  auto found = state->pending.find(info[0].As<Napi::Number>().Uint32Value());
  if (found == state->pending.end()) return Napi::Boolean::New(env, false);
  RequestCancel(found->second);
  return Napi::Boolean::New(env, true);
}

Napi::Value PendingCount(const Napi::CallbackInfo& info) {
  State* state = GetState(info.Env());
  return Napi::Number::New(info.Env(), static_cast<double>(state->pending.size()));
}

}  // namespace

void InitAsyncWait(Napi::Env env, Napi::Object exports) {
  State* state = new State();
  napi_value name;
  napi_create_string_utf8(env, "multiproc.futexWaitAsync", NAPI_AUTO_LENGTH, &name);
  napi_status status = napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr,
                                                       state, Deliver, &state->tsfn);
  if (status != napi_ok) throw Napi::Error::New(env, "cannot create the futex waiter's threadsafe function");
  napi_unref_threadsafe_function(env, state->tsfn);
  napi_set_instance_data(env, state, nullptr, nullptr);
  napi_add_env_cleanup_hook(env, Cleanup, state);
  exports.Set("futexWaitAsync", Napi::Function::New(env, WaitAsync, "futexWaitAsync"));
  exports.Set("futexCancel", Napi::Function::New(env, Cancel, "futexCancel"));
  exports.Set("pendingWaits", Napi::Function::New(env, PendingCount, "pendingWaits"));
}

}  // namespace multiproc
