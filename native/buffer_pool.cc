// Private ArrayBuffers for large received messages, backed by a pool of
// page-aligned chunks that stay mapped between uses.
//
// A fresh 1 MiB malloc'd ArrayBuffer costs its 256 page faults again on
// every message, since glibc hands big blocks back to the kernel when V8
// frees them: that was 3/4 of a 1 MiB Queue.get. A chunk released here (by
// V8, on whatever thread frees the backing store) goes back to the pool
// instead, already faulted in, up to a cap; the JS layer trims the pool
// when large messages stop arriving (trimBufferPool), and chunks freed after
// that go back to the kernel.
#include <sys/mman.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif
#include <v8.h>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>
#include "common.h"

namespace multiproc {

namespace {

constexpr size_t kPage = 4096;
// Chunks cached beyond this many bytes go straight back to the kernel.
constexpr size_t kMaxCachedBytes = size_t{128} << 20;

std::mutex poolMutex;
std::map<size_t, std::vector<void*>> freeChunks;  // by chunk size
size_t cachedBytes = 0;
// Set by the idle trim, cleared by the next pooled copy. V8 may free a
// message's chunk long after the trim (at a later GC); kept then, it would
// stay mapped until large messages resume, so it goes back at once.
bool idle = false;

// Rounds up to a quarter step of the length's power of two, so a stream of
// similar lengths shares a few chunk sizes and wastes at most a quarter.
size_t ChunkSize(size_t length) {
  size_t pages = (length + kPage - 1) & ~(kPage - 1);
  size_t top = kPage;
  while (top <= pages / 2) top *= 2;
  size_t step = top / 4 < kPage ? kPage : top / 4;
  return (pages + step - 1) / step * step;
}

void* TakeChunk(size_t size) {
  {
    std::lock_guard<std::mutex> lock(poolMutex);
    idle = false;
    auto found = freeChunks.find(size);
    if (found != freeChunks.end() && !found->second.empty()) {
      void* chunk = found->second.back();
      found->second.pop_back();
      cachedBytes -= size;
      return chunk;
    }
  }
  // MAP_POPULATE faults the pages in one go inside the kernel, cheaper than
  // one trap per page when the copy first touches them.
  void* chunk = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  return chunk == MAP_FAILED ? nullptr : chunk;
}

void GiveBack(void* data, size_t /*length*/, void* deleterData) {
  size_t size = reinterpret_cast<size_t>(deleterData);
  {
    std::lock_guard<std::mutex> lock(poolMutex);
    if (!idle && cachedBytes + size <= kMaxCachedBytes) {
      freeChunks[size].push_back(data);
      cachedBytes += size;
      return;
    }
  }
  munmap(data, size);
}

// Copies of at least this many bytes bypass the cache.
constexpr size_t kStreamingCopyBytes = 256 * 1024;

// A pooled chunk is cold (it was last written a GC cycle ago), so a plain
// memcpy first reads every destination line from memory only to overwrite
// it: non-temporal stores skip that read and copy 1 MiB in ~60 µs instead
// of ~110 µs here. glibc's memcpy does the same, but only above ~3/4 of the
// cache size. `target` is page-aligned.
void CopyIntoChunk(uint8_t* target, const uint8_t* source, size_t length) {
#if defined(__x86_64__)
  if (length >= kStreamingCopyBytes) {
    size_t done = 0;
    for (; done + 64 <= length; done += 64) {
      __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(source + done));
      __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(source + done + 16));
      __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(source + done + 32));
      __m128i d = _mm_loadu_si128(reinterpret_cast<const __m128i*>(source + done + 48));
      _mm_stream_si128(reinterpret_cast<__m128i*>(target + done), a);
      _mm_stream_si128(reinterpret_cast<__m128i*>(target + done + 16), b);
      _mm_stream_si128(reinterpret_cast<__m128i*>(target + done + 32), c);
      _mm_stream_si128(reinterpret_cast<__m128i*>(target + done + 48), d);
    }
    _mm_sfence();
    std::memcpy(target + done, source + done, length - done);
    return;
  }
#endif
  std::memcpy(target, source, length);
}

}  // namespace

// copyToPooled(source, sourceOffset, length): a new ArrayBuffer of `length`
// bytes (length > 0) holding a copy of source[sourceOffset, +length).
static Napi::Value CopyToPooled(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t length = IndexArgument(env, info[2], "length");
  if (length == 0) throw Napi::RangeError::New(env, "copyToPooled: length must be > 0");
  uint8_t* source = RangeArgument(env, info[0], info[1], length, "source", "copyToPooled");
  size_t size = ChunkSize(length);
  void* chunk = TakeChunk(size);
  if (chunk == nullptr) throw Napi::Error::New(env, "copyToPooled: out of memory");
  CopyIntoChunk(static_cast<uint8_t*>(chunk), source, length);
  std::unique_ptr<v8::BackingStore> store =
      v8::ArrayBuffer::NewBackingStore(chunk, length, GiveBack, reinterpret_cast<void*>(size));
  return FromV8(env, v8::ArrayBuffer::New(v8::Isolate::GetCurrent(), std::move(store)));
}

// Returns every cached chunk to the kernel, and those still in use as V8
// frees them, until the next pooled copy.
static Napi::Value TrimBufferPool(const Napi::CallbackInfo& info) {
  std::map<size_t, std::vector<void*>> released;
  {
    std::lock_guard<std::mutex> lock(poolMutex);
    released.swap(freeChunks);
    cachedBytes = 0;
    idle = true;
  }
  for (auto& [size, chunks] : released) {
    for (void* chunk : chunks) munmap(chunk, size);
  }
  return info.Env().Undefined();
}

// Bytes held in the pool right now (for tests).
static Napi::Value BufferPoolCachedBytes(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(poolMutex);
  return Napi::Number::New(info.Env(), static_cast<double>(cachedBytes));
}

void InitBufferPool(Napi::Env env, Napi::Object exports) {
  exports.Set("copyToPooled", Napi::Function::New(env, CopyToPooled, "copyToPooled"));
  exports.Set("trimBufferPool", Napi::Function::New(env, TrimBufferPool, "trimBufferPool"));
  exports.Set("bufferPoolCachedBytes", Napi::Function::New(env, BufferPoolCachedBytes, "bufferPoolCachedBytes"));
}

}  // namespace multiproc
