// Shared declarations of the multiproc native core. Everything above the
// kernel primitives (shared memory, futex, prctl) lives in TypeScript.
#pragma once
#include <napi.h>
#include <v8.h>
#include <sys/types.h>
#include <ctime>
#include <string>

namespace multiproc {

/** Outcome of a futex wait, in the order the TypeScript layer decodes. */
enum WaitResult { kWaitOk = 0, kWaitNotEqual = 1, kWaitTimedOut = 2, kWaitCancelled = 3 };

/** Builds an Error shaped like Node's system errors (code, errno, syscall, path). */
Napi::Error SystemError(Napi::Env env, int err, const char* syscall, const std::string& path);

/** Absolute CLOCK_MONOTONIC deadline `ms` from now; ms must be finite and >= 0. */
timespec DeadlineAfter(double ms);

/** Resolves an Int32Array argument and index to the address of the cell. */
int* CellAddress(const Napi::CallbackInfo& info, size_t arrayArg, size_t indexArg);

/** Reads a timeout in ms (>= 0 or Infinity) from argument `arg`. */
double TimeoutArgument(const Napi::CallbackInfo& info, size_t arg);

/** Blocking shared FUTEX_WAIT with an absolute deadline (nullptr: none), retried on EINTR. */
WaitResult WaitShared(int* addr, int expected, const timespec* deadline);

/**
 * Calls JavaScript back from a libuv callback. A C++ exception must not leave
 * a libuv callback (std::terminate): an error the callback threw becomes the
 * process's uncaught exception, as for Node's own callbacks, and a call that
 * cannot run at all (the environment is exiting) is dropped.
 */
void CallBackFromLoop(Napi::Env env, Napi::FunctionReference& callback, const std::initializer_list<napi_value>& args,
                      Napi::AsyncContext& context);

/** Wraps a V8 handle as a Napi::Value (N-API lacks the few V8 calls the core needs). */
Napi::Value FromV8(Napi::Env env, v8::Local<v8::Value> value);

/** The bytes of a TypedArray argument (named `name` in errors) and their length in bytes. */
uint8_t* TypedArrayBytes(const Napi::Env& env, const Napi::Value& value, const char* name, size_t* length);

/** A non-negative integer argument (named `name` in errors). */
size_t IndexArgument(const Napi::Env& env, const Napi::Value& value, const char* name);

/** The bytes at `offset` of TypedArray `view`, checked to hold `length` more; errors name `name` and `function`. */
uint8_t* RangeArgument(const Napi::Env& env, const Napi::Value& view, const Napi::Value& offset, size_t length,
                       const char* name, const char* function);

// Whether `pid` is a child with a live exit watch (child_link.cc).
bool IsWatchedChild(pid_t pid);
// Waits until `fd` is ready for `events` (poll, EINTR retried); false after
// `timeoutMs` (-1: no bound) or on a hang-up with nothing to read (child_link.cc).
bool WaitReady(int fd, short events, int timeoutMs);
// Sends all of `bytes` (EINTR retried, no SIGPIPE), waiting up to `timeoutMs`
// (-1: no bound) for room each time; 0, or the errno (ETIMEDOUT) (child_link.cc).
int SendWhole(int sock, const char* bytes, size_t length, int timeoutMs);
// One recvmsg (EINTR retried, with `flags`) into `into`; a descriptor that
// came with it in `fd` (close-on-exec), which is left alone otherwise. Returns
// recvmsg's result (child_link.cc).
ssize_t ReceiveWithDescriptor(int sock, void* into, size_t length, int flags, int* fd);
// In a forked child, just after the fork: ends the exit watches it inherited (child_link.cc).
void DropInheritedExitWatches();
// A child the zygote's exit-report thread will reap (exit_reports.cc).
bool IsReportedChild(pid_t pid);
// Has the exit-report thread reap `pid` and report its exit; 0, or an errno
// (ENOSPC: too many children at once) with the failed call in `failedCall` (exit_reports.cc).
int WatchReportedExit(pid_t pid, const char** failedCall);
// forkProcess(false) for native callers, who must have entered a context (fork.cc).
pid_t ForkThisProcess(Napi::Env env);

void InitSegments(Napi::Env env, Napi::Object exports);
void InitFutex(Napi::Env env, Napi::Object exports);
void InitMemory(Napi::Env env, Napi::Object exports);
void InitAsyncWait(Napi::Env env, Napi::Object exports);
void InitBufferPool(Napi::Env env, Napi::Object exports);
void InitExitProxy(Napi::Env env, Napi::Object exports);
void InitFork(Napi::Env env, Napi::Object exports);
void InitChildLink(Napi::Env env, Napi::Object exports);
void InitExitReports(Napi::Env env, Napi::Object exports);
void InitReadOnlyGuard(Napi::Env env, Napi::Object exports);
void InitBlockingSocket(Napi::Env env, Napi::Object exports);
void InitZygoteRequests(Napi::Env env, Napi::Object exports);

/** Marks a read-only mapping, so that a write to it is reported before the fault kills the process. */
bool GuardReadOnly(void* address, size_t length);
/** Forgets a mapping given to GuardReadOnly (before it is unmapped). */
void UnguardReadOnly(void* address);

/** The process name (comm) of a teardown proxy, by which its parent knows it (native/exit_proxy.cc). */
constexpr char kTeardownProxyName[] = "mp-teardown";

}  // namespace multiproc
