// Read-only mappings of shared segments, and what happens when JavaScript
// writes to one. JavaScript has no read-only TypedArray, so a write reaches
// the CPU and faults. A SIGSEGV handler tells that fault from any other: for
// an address inside a guarded mapping it writes one line to stderr saying
// what happened, then lets the signal kill the process as usual (so parents
// see SIGSEGV); every other fault goes to the handler that was there before
// (Node's WebAssembly trap handler, or the default action).
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <atomic>
#include <cstdint>
#include <cstring>
#include "common.h"

namespace multiproc {

namespace {

constexpr size_t kMaxGuarded = 1024;

struct GuardedRange {
  std::atomic<uintptr_t> start{0};
  std::atomic<size_t> length{0};
};

GuardedRange guarded[kMaxGuarded];
struct sigaction previous;
std::atomic<bool> installed{false};
const char* message = "";
size_t messageLength = 0;

bool IsGuarded(uintptr_t address) {
  for (auto& range : guarded) {
    uintptr_t start = range.start.load(std::memory_order_acquire);
    if (start != 0 && address >= start && address - start < range.length.load(std::memory_order_acquire)) return true;
  }
  return false;
}

void RestoreDefault() {
  struct sigaction fallback;
  std::memset(&fallback, 0, sizeof(fallback));
  fallback.sa_handler = SIG_DFL;
  sigaction(SIGSEGV, &fallback, nullptr);
}

void OnFault(int signal, siginfo_t* info, void* context) {
  if (IsGuarded(reinterpret_cast<uintptr_t>(info->si_addr))) {
    ssize_t ignored = write(STDERR_FILENO, message, messageLength);
    (void)ignored;
    // The fault repeats on return and the default action ends the process
    // with SIGSEGV; no core file for a fault that was explained.
    struct rlimit noCore = {0, 0};
    setrlimit(RLIMIT_CORE, &noCore);
    RestoreDefault();
    return;
  }
  if (previous.sa_flags & SA_SIGINFO) {
    previous.sa_sigaction(signal, info, context);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(signal);
  } else {
    RestoreDefault();
  }
}

void InstallOnce() {
  if (installed.exchange(true)) return;
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_sigaction = OnFault;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, &previous);
}

}  // namespace

bool GuardReadOnly(void* address, size_t length) {
  InstallOnce();
  for (auto& range : guarded) {
    uintptr_t expected = 0;
    if (range.start.load(std::memory_order_relaxed) == 0) {
      range.length.store(length, std::memory_order_release);
      if (range.start.compare_exchange_strong(expected, reinterpret_cast<uintptr_t>(address))) return true;
    }
  }
  return false;
}

void UnguardReadOnly(void* address) {
  for (auto& range : guarded) {
    uintptr_t expected = reinterpret_cast<uintptr_t>(address);
    if (range.start.compare_exchange_strong(expected, 0)) return;
  }
}

static Napi::Value SetReadOnlyWriteMessage(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "message must be a string");
  // Kept for the life of the process: the signal handler reads it.
  static std::string text;
  text = info[0].As<Napi::String>().Utf8Value();
  message = text.c_str();
  messageLength = text.size();
  return info.Env().Undefined();
}

void InitReadOnlyGuard(Napi::Env env, Napi::Object exports) {
  exports.Set("setReadOnlyWriteMessage", Napi::Function::New(env, SetReadOnlyWriteMessage, "setReadOnlyWriteMessage"));
}

}  // namespace multiproc
