// Bulk copies into and out of shared memory. V8 copies a TypedArray over a
// SharedArrayBuffer with relaxed atomic accesses (about 3 GB/s here), since
// another thread could race with it; the ring protocol already guarantees
// that nobody else touches the bytes being copied, so plain memcpy/memset
// (about 10 GB/s) is safe for it.
#include <cstring>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "common.h"

namespace multiproc {

uint8_t* TypedArrayBytes(const Napi::Env& env, const Napi::Value& value, const char* name, size_t* length) {
  if (!value.IsTypedArray()) throw Napi::TypeError::New(env, std::string(name) + " must be a TypedArray");
  napi_typedarray_type type;
  size_t elements;
  void* data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, value, &type, &elements, &data, &buffer, &offset) != napi_ok) {
    throw Napi::Error::New(env, std::string("cannot read ") + name);
  }
  *length = elements * value.As<Napi::TypedArray>().ElementSize();
  return static_cast<uint8_t*>(data);
}

size_t IndexArgument(const Napi::Env& env, const Napi::Value& value, const char* name) {
  if (!value.IsNumber()) throw Napi::TypeError::New(env, std::string(name) + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!(number >= 0) || number > 9007199254740991.0 || number != static_cast<double>(static_cast<size_t>(number))) {
    throw Napi::RangeError::New(env, std::string(name) + " must be a non-negative integer");
  }
  return static_cast<size_t>(number);
}

uint8_t* RangeArgument(const Napi::Env& env, const Napi::Value& view, const Napi::Value& offset, size_t length,
                       const char* name, const char* function) {
  size_t viewLength;
  uint8_t* bytes = TypedArrayBytes(env, view, name, &viewLength);
  size_t start = IndexArgument(env, offset, (std::string(name) + "Offset").c_str());
  if (start > viewLength || length > viewLength - start) {
    throw Napi::RangeError::New(env, std::string(function) + ": range out of bounds");
  }
  return bytes + start;
}

// copyBytes(target, targetOffset, source, sourceOffset, length), offsets in bytes.
static Napi::Value CopyBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = IndexArgument(env, info[4], "length");
  uint8_t* target = RangeArgument(env, info[0], info[1], length, "target", "copyBytes");
  uint8_t* source = RangeArgument(env, info[2], info[3], length, "source", "copyBytes");
  std::memmove(target, source, length);
  return env.Undefined();
}

// zeroBytes(target, offset, length), in bytes.
static Napi::Value ZeroBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = IndexArgument(env, info[2], "length");
  std::memset(RangeArgument(env, info[0], info[1], length, "target", "zeroBytes"), 0, length);
  return env.Undefined();
}

// firstTouchFaultNanos(): the mean cost, in ns, of the page fault that the
// first write to a page of fresh anonymous memory takes (64 pages), or null
// if no memory could be mapped. How costly faults are on this machine
// decides whether forks should copy page tables instead (see
// src/process/inherited-code-mappings.ts).
static Napi::Value FirstTouchFaultNanos(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const size_t pages = 64;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  void* region = mmap(nullptr, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) return env.Null();
  timespec begin, end;
  clock_gettime(CLOCK_MONOTONIC, &begin);
  for (size_t i = 0; i < pages; i++) static_cast<volatile char*>(region)[i * page] = 1;
  clock_gettime(CLOCK_MONOTONIC, &end);
  munmap(region, pages * page);
  double nanos = (end.tv_sec - begin.tv_sec) * 1e9 + (end.tv_nsec - begin.tv_nsec);
  return Napi::Number::New(env, nanos / pages);
}

void InitMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("copyBytes", Napi::Function::New(env, CopyBytes, "copyBytes"));
  exports.Set("zeroBytes", Napi::Function::New(env, ZeroBytes, "zeroBytes"));
  exports.Set("firstTouchFaultNanos", Napi::Function::New(env, FirstTouchFaultNanos, "firstTouchFaultNanos"));
}

}  // namespace multiproc
