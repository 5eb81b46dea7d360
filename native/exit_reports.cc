// The forkserver zygote's exit reports: a thread that waits for the
// children it is told about and writes each one's exit to a descriptor the
// program reads, as a record of two int32 (pid, then the exit status, or -N
// after signal N).
//
// A thread, not the event loop: the zygote's one JavaScript thread is often
// busy forking the next spare (~1 ms) just when a short child exits, and a
// report made there waited for it; through JavaScript it also cost ~0.3 ms
// of the zygote's CPU per child. The thread holds no lock and allocates
// nothing, so a fork() from the JavaScript thread is safe while it runs; a
// forked child has no such thread and closes its copies of the descriptors
// (stopExitReportsInChild).
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include "common.h"

namespace multiproc {

namespace {

int reportFd = -1;
int epollFd = -1;

const int EVENTS_PER_WAIT = 16;

// The children the thread has yet to reap. A child bears the teardown
// proxies' name while it exits (exit_proxy.cc), and the zygote's look for
// exited proxies must leave these to the thread, which reports their codes
// (IsReportedChild). Lock-free: a fork must never copy a held lock.
const int REPORTED_SLOTS = 16384;
std::atomic<int32_t> reportedPids[REPORTED_SLOTS];

bool AddReported(pid_t pid) {
  for (auto& slot : reportedPids) {
    int32_t empty = 0;
    if (slot.compare_exchange_strong(empty, static_cast<int32_t>(pid))) return true;
  }
  return false;
}

void RemoveReported(pid_t pid) {
  for (auto& slot : reportedPids) {
    int32_t expected = static_cast<int32_t>(pid);
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

void WriteRecord(pid_t pid, int32_t status) {
  int32_t record[2] = {static_cast<int32_t>(pid), status};
  ssize_t wrote;
  // 8 bytes to a socket the program drains: one write takes them whole.
  do {
    wrote = write(reportFd, record, sizeof record);
  } while (wrote < 0 && errno == EINTR);
}

void* ReportExits(void*) {
  epoll_event events[EVENTS_PER_WAIT];
  for (;;) {
    int ready = epoll_wait(epollFd, events, EVENTS_PER_WAIT, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return nullptr;
    }
    for (int i = 0; i < ready; i++) {
      uint64_t data = events[i].data.u64;
      pid_t pid = static_cast<pid_t>(data >> 32);
      int pidfd = static_cast<int>(data & 0xffffffffu);
      int wstatus = 0;
      pid_t reaped;
      // Readable: it has exited, so this does not block.
      do {
        reaped = waitpid(pid, &wstatus, 0);
      } while (reaped < 0 && errno == EINTR);
      epoll_ctl(epollFd, EPOLL_CTL_DEL, pidfd, nullptr);
      close(pidfd);
      RemoveReported(pid);
      if (reaped == pid) WriteRecord(pid, WIFSIGNALED(wstatus) ? -WTERMSIG(wstatus) : WEXITSTATUS(wstatus));
    }
  }
}

// startExitReports(fd): starts the thread that reports to `fd`.
Napi::Value StartExitReports(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "fd must be a file descriptor number");
  if (epollFd >= 0) throw Napi::Error::New(env, "startExitReports: already started");
  reportFd = info[0].As<Napi::Number>().Int32Value();
  epollFd = epoll_create1(EPOLL_CLOEXEC);
  if (epollFd < 0) throw SystemError(env, errno, "epoll_create1", "");
  // Signals stay with the JavaScript thread: the new thread inherits this mask.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attributes, 64 * 1024);
  pthread_t thread;
  int err = pthread_create(&thread, &attributes, ReportExits, nullptr);
  pthread_attr_destroy(&attributes);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (err != 0) {
    close(epollFd);
    epollFd = -1;
    throw SystemError(env, err, "pthread_create", "");
  }
  return env.Undefined();
}

// reportExitOf(pid): the thread reaps `pid`, a child of this process, and reports its exit.
Napi::Value ReportExitOf(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "pid must be a number");
  if (epollFd < 0) throw Napi::Error::New(env, "reportExitOf: startExitReports() was not called");
  pid_t pid = info[0].As<Napi::Number>().Int32Value();
  const char* failedCall = nullptr;
  int err = WatchReportedExit(pid, &failedCall);
  if (err == ENOSPC) throw Napi::Error::New(env, "reportExitOf: more children at once than the exit reports can hold");
  if (err != 0) throw SystemError(env, err, failedCall, "");
  return env.Undefined();
}

// stopExitReportsInChild(): in a child forked from the zygote, which has no
// reporting thread: closes the inherited descriptors, so that the program
// sees the reports end when the zygote does.
Napi::Value StopExitReportsInChild(const Napi::CallbackInfo& info) {
  if (epollFd >= 0) close(epollFd);
  if (reportFd >= 0) close(reportFd);
  epollFd = -1;
  reportFd = -1;
  // Only the slots in use: a store of 0 over the whole 64 KB table cost each
  // child 16 copied pages.
  for (auto& slot : reportedPids) {
    if (slot.load(std::memory_order_relaxed) != 0) slot.store(0);
  }
  return info.Env().Undefined();
}

}  // namespace

int WatchReportedExit(pid_t pid, const char** failedCall) {
  if (epollFd < 0) {
    *failedCall = "epoll_ctl";
    return EBADF;
  }
  if (!AddReported(pid)) return ENOSPC;
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0U));
  if (pidfd < 0) {
    int error = errno;
    RemoveReported(pid);
    *failedCall = "pidfd_open";
    return error;
  }
  epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = (static_cast<uint64_t>(static_cast<uint32_t>(pid)) << 32) | static_cast<uint32_t>(pidfd);
  if (epoll_ctl(epollFd, EPOLL_CTL_ADD, pidfd, &event) != 0) {
    int error = errno;
    close(pidfd);
    RemoveReported(pid);
    *failedCall = "epoll_ctl";
    return error;
  }
  return 0;
}

bool IsReportedChild(pid_t pid) {
  for (const auto& slot : reportedPids) {
    if (slot.load() == static_cast<int32_t>(pid)) return true;
  }
  return false;
}

void InitExitReports(Napi::Env env, Napi::Object exports) {
  exports.Set("startExitReports", Napi::Function::New(env, StartExitReports, "startExitReports"));
  exports.Set("reportExitOf", Napi::Function::New(env, ReportExitOf, "reportExitOf"));
  exports.Set("stopExitReportsInChild", Napi::Function::New(env, StopExitReportsInChild, "stopExitReportsInChild"));
}

}  // namespace multiproc
