// A child's last act, as CPython's os._exit after run(), and the hand-off
// of its memory teardown to a proxy.
//
// Freeing a finished Node process's memory takes the kernel ~6 ms here
// (~0.12 ms per MB, ~50 MB), and a process is not reapable until that is
// done, so join() in the parent waited for it. Just before _exit, the child
// clones a tiny proxy that shares its address space (CLONE_VM) and has the
// same parent (CLONE_PARENT). The child's exit then drops only its share of
// the memory and it becomes reapable at once; the proxy waits on a pidfd
// until the child is gone, exits, and the kernel frees the memory in the
// proxy's exit, off the critical path. The parent reaps proxies, which it
// knows by their name (src/teardown-proxies.ts).
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>
#include <uv.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <node.h>
#include "common.h"

namespace multiproc {

namespace {

constexpr size_t kProxyStackBytes = 64 * 1024;
// A bound, should the pidfd never report the exit: the proxy then just exits.
constexpr int kProxyWaitMs = 10000;

struct ProxyArgs {
  int pidfd;
  pid_t parent;
};
ProxyArgs proxyArgs;

// Runs in the proxy, on its own stack, in memory shared with the exiting
// child: only plain system calls, nothing that allocates or takes locks.
int RunProxy(void* raw) {
  ProxyArgs* args = static_cast<ProxyArgs*>(raw);
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != args->parent) return 0;
  // The copied fd table would keep the child's pipes and sockets open.
  if (args->pidfd > 0) syscall(SYS_close_range, 0U, static_cast<unsigned>(args->pidfd - 1), 0U);
  syscall(SYS_close_range, static_cast<unsigned>(args->pidfd + 1), ~0U, 0U);
  pollfd exited = {args->pidfd, POLLIN, 0};
  while (poll(&exited, 1, kProxyWaitMs) < 0 && errno == EINTR) {
  }
  return 0;
}

// Starts the proxy; on any failure the child simply tears itself down.
void StartTeardownProxy() {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, getpid(), 0U));
  if (pidfd < 0) return;
  void* stack = mmap(nullptr, kProxyStackBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) return;
  proxyArgs = {pidfd, getppid()};
  // The parent knows proxies by name only, so the proxy is born with it (a
  // clone takes its creator's name): a parent that looks right after this
  // child's exit (whenTeardownProxiesGone) cannot miss it, and the child
  // need not wait for the scheduler to run the proxy. The child takes its
  // own name back before it exits, so that the parent never takes it for a
  // proxy once it can be reaped.
  char ownName[16] = {0};
  prctl(PR_GET_NAME, ownName);
  prctl(PR_SET_NAME, kTeardownProxyName);
  clone(RunProxy, static_cast<char*>(stack) + kProxyStackBytes, CLONE_VM | CLONE_PARENT, &proxyArgs);
  prctl(PR_SET_NAME, ownName);
}

}  // namespace

// exitImmediately(code): skips Node's own teardown (isolate disposal, loader
// threads: 10-20 ms that nobody waits for) and the kernel's, see above.
static Napi::Value ExitImmediately(const Napi::CallbackInfo& info) {
  int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  StartTeardownProxy();
  _exit(code);
  return info.Env().Undefined();
}

// exitDirectly(): from now on, any exit through Node's Environment::Exit
// (process.exit, process.reallyExit, a fatal exception) is exitImmediately.
// For a forked child: Node's own exit shuts its platform's worker threads
// down, and the child has none of them, only their condition variable with
// the parent's threads counted as waiters, so that shutdown can wait forever
// (seen on Node 24: pthread_cond_broadcast in WorkerThreadsTaskRunner::Shutdown).
static Napi::Value ExitDirectly(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  node::Environment* nodeEnv = node::GetCurrentEnvironment(isolate->GetCurrentContext());
  if (nodeEnv == nullptr) throw Napi::Error::New(env, "exitDirectly: no Node environment");
  node::SetProcessExitHandler(nodeEnv, [](node::Environment*, int code) {
    StartTeardownProxy();
    _exit(code);
  });
  return env.Undefined();
}

namespace {

struct ProcessSearch {
  pid_t pid;
  bool found;
};

void FindProcessHandle(uv_handle_t* handle, void* arg) {
  ProcessSearch* search = static_cast<ProcessSearch*>(arg);
  if (handle->type == UV_PROCESS && !uv_is_closing(handle) &&
      reinterpret_cast<uv_process_t*>(handle)->pid == search->pid) {
    search->found = true;
  }
}

// Whether libuv started `pid` (Node's child_process) and has not seen it
// exit: that exit is libuv's to reap, or the ChildProcess never ends.
bool IsLibuvChild(napi_env env, pid_t pid) {
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return false;
  ProcessSearch search = {pid, false};
  uv_walk(loop, FindProcessHandle, &search);
  return search.found;
}

bool HasTeardownProxyName(pid_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%d/comm", static_cast<int>(pid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char name[32] = {0};
  ssize_t n = read(fd, name, sizeof(name) - 1);
  close(fd);
  if (n <= 0) return false;
  if (name[n - 1] == '\n') name[n - 1] = '\0';
  return strcmp(name, kTeardownProxyName) == 0;
}

}  // namespace

// reapChild(pid, block): reaps `pid` if it is an exited teardown proxy
// (waiting for its exit if `block`); whether it was reaped.
//
// The caller found `pid` by its name, but a child bears that name for a
// moment while it exits (see StartTeardownProxy): a name read then, and a
// waitpid once the child had exited, reaped a real child and stole its exit
// from whoever watched it (a ChildProcess then never ended: join() hung,
// ~1 run in 20 of 32 booted children exiting at once). So the exit is first
// only looked at (WNOWAIT), and the name read again once it can no longer
// change, and children that libuv, an exit watch or the zygote's exit-report
// thread will reap are never taken.
static Napi::Value ReapChild(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "pid must be a number");
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  bool block = info[1].ToBoolean().Value();
  if (IsWatchedChild(pid) || IsReportedChild(pid) || IsLibuvChild(env, pid)) return Napi::Boolean::New(env, false);
  siginfo_t exited;
  memset(&exited, 0, sizeof(exited));
  int looked;
  do {
    looked = waitid(P_PID, static_cast<id_t>(pid), &exited, WEXITED | WNOWAIT | (block ? 0 : WNOHANG));
  } while (looked < 0 && errno == EINTR);
  if (looked < 0 || exited.si_pid != pid || !HasTeardownProxyName(pid)) return Napi::Boolean::New(env, false);
  int status;
  pid_t reaped;
  do {
    reaped = waitpid(pid, &status, WNOHANG);
  } while (reaped < 0 && errno == EINTR);
  return Napi::Boolean::New(env, reaped == pid);
}

void InitExitProxy(Napi::Env env, Napi::Object exports) {
  exports.Set("exitDirectly", Napi::Function::New(env, ExitDirectly, "exitDirectly"));
  exports.Set("exitImmediately", Napi::Function::New(env, ExitImmediately, "exitImmediately"));
  exports.Set("reapChild", Napi::Function::New(env, ReapChild, "reapChild"));
  exports.Set("teardownProxyName", Napi::String::New(env, kTeardownProxyName));
}

}  // namespace multiproc
