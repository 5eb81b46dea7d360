// A real fork() of a Node process (exit watching and fd passing for the
// children it makes are in child_link.cc).
//
// Node's Linux build marks V8's heap MADV_DONTFORK (the `dc` VmFlag in
// /proc/self/smaps), so a plain fork() leaves the child without a heap.
// forkProcess() re-marks those regions MADV_DOFORK (see MarkAllForkable), forks, and in the child
// calls uv_loop_fork() so the event loop gets its own epoll instance. The
// rest (process.pid, inherited handles, the parent-death signal) is done in
// TypeScript, which knows what the child is for (src/process/, src/child/).
//
// Two kinds of fork:
//  - plain fork(), for a program that forks itself: glibc runs its atfork
//    handlers (libuv's thread pool is reset in the child);
//  - clone(CLONE_PARENT), for the forkserver zygote: the child becomes a
//    child of the zygote's parent, the program, so pid, waitpid, the
//    parent-death signal and the teardown proxies work as for a spawned
//    child, and the zygote dying takes no child with it. A raw clone skips
//    glibc's atfork handlers, so the zygote must not have started libuv's
//    thread pool; its canary child checks that async fs still works.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
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
#include <node.h>
#include "common.h"

namespace multiproc {

void CallBackFromLoop(Napi::Env env, Napi::FunctionReference& callback, const std::initializer_list<napi_value>& args,
                      Napi::AsyncContext& context) {
  // The C call, not node-addon-api's throwing one: a forked child, unwinding
  // its inherited stack, comes through here with JavaScript terminated, and a
  // C++ exception there cost each child its first unwind (libgcc's frame
  // lookup, libstdc++'s lazily bound symbols).
  napi_value result;
  napi_status status = napi_make_callback(env, context, env.Global(), callback.Value(), args.size(), args.begin(), &result);
  if (status == napi_ok) return;
  // No value (empty, undefined or null) when no JavaScript could run: the
  // environment is exiting (process.exit() from the callback), nothing to report.
  bool pending = false;
  napi_value thrown = nullptr;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
  if (napi_get_and_clear_last_exception(env, &thrown) != napi_ok || thrown == nullptr) return;
  napi_valuetype type = napi_undefined;
  napi_typeof(env, thrown, &type);
  if (type != napi_undefined && type != napi_null) napi_fatal_exception(env, thrown);
}

namespace {

// Re-marks V8's MADV_DONTFORK regions MADV_DOFORK; returns how many
// regions were advised, or -errno. Only /proc/self/smaps shows the flag, and
// reading it makes the kernel walk every page table (1-3 ms per fork). The
// flagged regions are all private and anonymous, so every private anonymous
// region of the cheap /proc/self/maps is advised instead: for a region
// without the flag MADV_DOFORK changes nothing.
int MarkAllForkable() {
  int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  std::string maps;
  char chunk[16384];
  for (;;) {
    ssize_t got = read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    maps.append(chunk, static_cast<size_t>(got));
  }
  close(fd);
  int marked = 0;
  // Each line: "start-end perms offset major:minor inode [path]". Parsed by
  // hand: sscanf cost the zygote ~3% of its CPU, once per line per fork.
  const char* at = maps.c_str();
  const char* last = at + maps.size();
  while (at < last) {
    const char* lineEnd = static_cast<const char*>(memchr(at, '\n', static_cast<size_t>(last - at)));
    if (lineEnd == nullptr) lineEnd = last;
    char* next;
    uintptr_t start = strtoul(at, &next, 16);
    bool parsed = *next == '-';
    uintptr_t end = parsed ? strtoul(next + 1, &next, 16) : 0;
    parsed = parsed && *next == ' ' && next + 5 < lineEnd;
    const char* perms = next + 1;
    // Past perms, offset and device to the inode.
    const char* field = perms;
    for (int skipped = 0; parsed && skipped < 3; skipped++) {
      field = static_cast<const char*>(memchr(field, ' ', static_cast<size_t>(lineEnd - field)));
      parsed = field != nullptr;
      if (parsed) field++;
    }
    if (parsed) {
      unsigned long inode = strtoul(field, &next, 10);
      while (next < lineEnd && *next == ' ') next++;
      // Unnamed, or named by its allocator through PR_SET_VMA_ANON_NAME ("[anon:...]").
      bool unnamed = next >= lineEnd;
      bool anonymous = inode == 0 && (unnamed || (lineEnd - next >= 6 && memcmp(next, "[anon:", 6) == 0));
      if (anonymous && perms[3] == 'p' && madvise(reinterpret_cast<void*>(start), end - start, MADV_DOFORK) == 0) marked++;
    }
    at = lineEnd + 1;
  }
  return marked;
}

// forkProcess(cloneParent): the child's pid in the parent, 0 in the child.
// Requests in flight when this process was forked, as a child sees them: a
// thread-pool request (an fs write, a DNS lookup) went on in the parent's
// threads, which the child lacks, so it stays counted forever here.
unsigned int requestsLostAtFork = 0;

// Forks (see the top of this file); the child's pid, 0 in the child.
pid_t ForkNow(Napi::Env env, bool cloneParent) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    throw Napi::Error::New(env, "forkProcess: no event loop");
  }
  // A task still queued for, or running on, one of Node's platform worker
  // threads would stay counted as outstanding in the child, which has no such
  // threads, and the child's event loop would wait for it forever at its end.
  // So let them all finish first.
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  node::Environment* nodeEnv = node::GetCurrentEnvironment(isolate->GetCurrentContext());
  node::MultiIsolatePlatform* platform = nodeEnv != nullptr ? node::GetMultiIsolatePlatform(nodeEnv) : nullptr;
  if (platform != nullptr) platform->DrainTasks(isolate);
  int marked = MarkAllForkable();
  if (marked < 0) throw SystemError(env, -marked, "open", "/proc/self/maps");
  // The process the child must die with: this one, or with CLONE_PARENT, ours.
  pid_t dieWith = cloneParent ? getppid() : getpid();
  pid_t pid;
  if (cloneParent) {
    // x86_64 and arm64 agree on (flags, stack, parent_tid, child_tid, tls) for these arguments.
    pid = static_cast<pid_t>(syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, 0));
  } else {
    pid = fork();
  }
  if (pid < 0) throw SystemError(env, errno, cloneParent ? "clone" : "fork", "");
  if (pid == 0) {
    // First of all, since a fork's child does not inherit it: die with the
    // parent. The library sets this again later, but a child stuck before
    // then (on a lock some other thread held at the fork: a profiler's, say)
    // would outlive the parent forever. Gone already: go too.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != dieWith) _exit(70);
    int err = uv_loop_fork(loop);
    // Without its own epoll instance the child would steal the parent's events: it cannot go on.
    if (err != 0) {
      fprintf(stderr, "multiproc: uv_loop_fork failed in a forked child: %s\n", uv_strerror(err));
      _exit(70);
    }
    requestsLostAtFork = loop->active_reqs.count;
    DropInheritedExitWatches();
  }
  return pid;
}

Napi::Value ForkProcess(const Napi::CallbackInfo& info) {
  bool cloneParent = info.Length() > 0 && info[0].ToBoolean().Value();
  return Napi::Number::New(info.Env(), ForkNow(info.Env(), cloneParent));
}

// A program that forks itself does so inside Process.start(), deep in the
// caller's JavaScript stack; the child must not return into it (that is the
// parent's business, which would then run twice). forkAndUnwind(entry, atFork) forks
// like forkProcess(false); in the child it calls `atFork` (if given), then
// terminates JavaScript execution,
// which no try/catch or finally can stop, so the whole inherited stack
// unwinds to the event loop, and the pending microtasks are dropped with it.
// Just before the loop next polls, a prepare handle cancels the termination
// and calls `entry` on a clean stack: the child's life starts there.
struct ForkedEntry {
  uv_prepare_t prepare;
  napi_env env;
  Napi::FunctionReference entry;
  Napi::AsyncContext* context;
};

// The timers that were running at the fork, stopped in the child until its
// life starts. Until then the termination is pending, and Node's timer
// callback retries a failed call into JavaScript while it can call in at
// all: a timer due in that time spun the child forever (a parent with an
// interval running, forking after an await).
struct PausedTimer {
  uv_timer_t* handle;
  uv_timer_cb callback;
  uint64_t dueIn;
  uint64_t repeat;
};
std::vector<PausedTimer> pausedTimers;

void PauseTimer(uv_handle_t* handle, void*) {
  if (handle->type != UV_TIMER || !uv_is_active(handle) || uv_is_closing(handle)) return;
  uv_timer_t* timer = reinterpret_cast<uv_timer_t*>(handle);
  pausedTimers.push_back({timer, timer->timer_cb, uv_timer_get_due_in(timer), uv_timer_get_repeat(timer)});
  uv_timer_stop(timer);
}

// Resumes the paused timers that the child's entry left alone: it stops
// the parent's JavaScript timers itself (which may restart Node's handle).
void ResumePausedTimers() {
  for (const PausedTimer& paused : pausedTimers) {
    uv_handle_t* handle = reinterpret_cast<uv_handle_t*>(paused.handle);
    if (uv_is_active(handle) || uv_is_closing(handle)) continue;
    uv_timer_start(paused.handle, paused.callback, paused.dueIn, paused.repeat);
  }
  pausedTimers.clear();
}

void RunForkedEntry(uv_prepare_t* prepare) {
  ForkedEntry* start = static_cast<ForkedEntry*>(prepare->data);
  uv_prepare_stop(prepare);
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  isolate->CancelTerminateExecution();
  Napi::Env env(start->env);
  Napi::HandleScope scope(env);
  CallBackFromLoop(env, start->entry, {}, *start->context);
  ResumePausedTimers();
}

// The script a child runs to take its termination at once (see below).
// Compiled once, in the parent: compiling it in every child cost each ~2 ms
// of cold compiler code and copied pages. Never freed: a Global destroyed
// with the addon's statics, after its isolate, would crash the exit. Only
// the isolate that made it may run it (forkAndUnwind is for the main thread).
struct TerminationTaker {
  v8::Isolate* isolate;
  v8::Global<v8::Script> script;
};
TerminationTaker* terminationTaker = nullptr;

Napi::Value ForkAndUnwind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "entry must be a function");
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  if (terminationTaker == nullptr) {
    v8::Local<v8::Script> script;
    if (!v8::Script::Compile(context, v8::String::NewFromUtf8Literal(isolate, "0")).ToLocal(&script)) {
      throw Napi::Error::New(env, "forkAndUnwind: cannot compile the termination script");
    }
    terminationTaker = new TerminationTaker{isolate, v8::Global<v8::Script>(isolate, script)};
  }
  if (terminationTaker->isolate != isolate) throw Napi::Error::New(env, "forkAndUnwind: only the main thread can fork");
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  // Made before the fork, so that the child needs no allocation from V8 for it.
  ForkedEntry* start = new ForkedEntry();
  start->env = env;
  start->entry = Napi::Persistent(info[0].As<Napi::Function>());
  start->context = new Napi::AsyncContext(env, "multiproc.forkedEntry");
  pid_t pid;
  try {
    pid = ForkNow(env, false);
  } catch (...) {
    delete start->context;
    delete start;
    throw;
  }
  if (pid > 0) {
    start->entry.Reset();
    delete start->context;
    delete start;
    return Napi::Number::New(env, pid);
  }
  // What must be undone before the unwinding reaches Node's callback scopes
  // (the async context stack), still on the inherited stack.
  if (info.Length() > 1 && info[1].IsFunction()) info[1].As<Napi::Function>().Call({});
  uv_walk(loop, PauseTimer, nullptr);
  start->prepare.data = start;
  uv_prepare_init(loop, &start->prepare);
  // Ref'd: the loop must not end before the child's life has started.
  uv_prepare_start(&start->prepare, RunForkedEntry);
  // Termination is an interrupt, taken at the next JavaScript stack check;
  // the caller's native calls right after this one (closing a descriptor,
  // say) would run first. Entering JavaScript here takes it at once, so the
  // caller gets back an exception already under way.
  isolate->TerminateExecution();
  // Empty by design: the run is cut short by the termination it takes.
  v8::Local<v8::Value> terminated;
  if (terminationTaker->script.Get(isolate)->Run(context).ToLocal(&terminated)) return env.Undefined();
  return env.Undefined();
}

// execProgram(file, args): replaces this process's program (execv), keeping
// its pid, environment (process.env writes reach environ) and descriptors:
// how `multiproc app.ts` restarts Node fork-ready without a process between
// the program and its parent. Returns only on failure, by throwing.
Napi::Value ExecProgram(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsArray()) throw Napi::TypeError::New(env, "execProgram(file, args) expects a string and an array");
  std::string file = info[0].As<Napi::String>().Utf8Value();
  Napi::Array list = info[1].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < list.Length(); i++) args.push_back(list.Get(i).ToString().Utf8Value());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  // Node marks stdin, stdout and stderr close-on-exec; the new program needs them.
  for (int fd = 0; fd <= 2; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
  }
  execv(file.c_str(), argv.data());
  throw SystemError(env, errno, "execv", file.c_str());
}

// pendingRequests(): libuv requests in flight on this loop (fs, DNS, writes);
// the zygote forks once they are done, so that a child inherits none half-done.
Napi::Value PendingRequests(const Napi::CallbackInfo& info) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(info.Env(), &loop);
  return Napi::Number::New(info.Env(), loop->active_reqs.count);
}

// In a forked child, Node's event loop must never reach its natural end:
// there Node waits for its platform worker threads to finish their tasks
// (NodePlatform::DrainTasks), and the child has none of those threads, so
// a task V8 handed them waits forever. onLoopIdle(callback) calls back
// instead as soon as nothing but its own keeper keeps the loop alive. It
// looks from a prepare handle, which runs just before every poll: the one
// moment the loop would otherwise block. (A check handle, after the poll,
// misses a handle that JavaScript unrefs later in the same iteration, a
// timer cleared or a socket unref'd, and the loop then sleeps until some
// unrelated timer: seen, a child idle for 7 s after its target returned.)
struct IdleWatch {
  uv_prepare_t prepare;
  uv_timer_t keeper;
  napi_env env;
  Napi::FunctionReference callback;
  Napi::AsyncContext* context;
  bool fired;
};

void NoOp(uv_timer_t*) {}

void BeforePoll(uv_prepare_t* prepare) {
  IdleWatch* watch = static_cast<IdleWatch*>(prepare->data);
  uv_loop_t* loop = prepare->loop;
  if (watch->fired) return;
  // Handles closed earlier in this iteration still have close callbacks (and
  // perhaps a socket's 'close' JavaScript) to run; the poll will not block
  // while they are pending, so this runs again right after them.
  if (loop->closing_handles != nullptr) return;
  // The keeper is the one ref'd active handle left, and no request of this child's own is in flight.
  if (loop->active_handles > 1 || loop->active_reqs.count > requestsLostAtFork) return;
  watch->fired = true;
  Napi::Env env(watch->env);
  Napi::HandleScope scope(env);
  CallBackFromLoop(env, watch->callback, {}, *watch->context);
}

Napi::Value OnLoopIdle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  // Lives until the process exits, which is what it is for.
  IdleWatch* watch = new IdleWatch();
  watch->env = env;
  watch->callback = Napi::Persistent(info[0].As<Napi::Function>());
  watch->context = new Napi::AsyncContext(env, "multiproc.onLoopIdle");
  watch->fired = false;
  watch->prepare.data = watch;
  uv_prepare_init(loop, &watch->prepare);
  uv_prepare_start(&watch->prepare, BeforePoll);
  uv_unref(reinterpret_cast<uv_handle_t*>(&watch->prepare));
  uv_timer_init(loop, &watch->keeper);
  uv_timer_start(&watch->keeper, NoOp, 1u << 30, 1u << 30);
  return env.Undefined();
}

}  // namespace

pid_t ForkThisProcess(Napi::Env env) { return ForkNow(env, false); }

void InitFork(Napi::Env env, Napi::Object exports) {
  exports.Set("forkProcess", Napi::Function::New(env, ForkProcess, "forkProcess"));
  exports.Set("forkAndUnwind", Napi::Function::New(env, ForkAndUnwind, "forkAndUnwind"));
  exports.Set("onLoopIdle", Napi::Function::New(env, OnLoopIdle, "onLoopIdle"));
  exports.Set("execProgram", Napi::Function::New(env, ExecProgram, "execProgram"));
  exports.Set("pendingRequests", Napi::Function::New(env, PendingRequests, "pendingRequests"));
}

}  // namespace multiproc
