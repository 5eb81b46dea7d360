// POSIX shared-memory segments handed to JavaScript as real
// SharedArrayBuffers. N-API can only make ArrayBuffers over external memory,
// so this file uses V8 directly: a BackingStore over the mapping whose
// deleter unmaps it once the last SharedArrayBuffer referencing it (in any
// thread of this process) is collected.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <v8.h>
#include <cerrno>
#include <cstring>
#include "common.h"

namespace multiproc {

static void Unmap(void* data, size_t length, void* /*deleter_data*/) {
  if (data != nullptr && length > 0) munmap(data, length);
}

// napi_value is, in Node's implementation, a v8::Local<v8::Value> with its
// type erased (v8impl::JsValueFromV8LocalValue); copying the handle across is
// the standard bridge for the few V8 APIs N-API lacks.
Napi::Value FromV8(Napi::Env env, v8::Local<v8::Value> value) {
  static_assert(sizeof(napi_value) == sizeof(v8::Local<v8::Value>), "napi_value must wrap a V8 handle");
  napi_value raw;
  std::memcpy(&raw, &value, sizeof(raw));
  return Napi::Value(env, raw);
}

static void UnguardAndUnmap(void* data, size_t length, void* deleter_data) {
  UnguardReadOnly(data);
  Unmap(data, length, deleter_data);
}

static Napi::Value WrapMapping(Napi::Env env, void* address, size_t size, bool guarded = false) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store =
      v8::SharedArrayBuffer::NewBackingStore(address, size, guarded ? UnguardAndUnmap : Unmap, nullptr);
  return FromV8(env, v8::SharedArrayBuffer::New(isolate, std::move(store)));
}

static std::string NameArgument(const Napi::CallbackInfo& info) {
  if (!info[0].IsString()) throw Napi::TypeError::New(info.Env(), "name must be a string");
  return info[0].As<Napi::String>().Utf8Value();
}

static Napi::Value MapDescriptor(Napi::Env env, int fd, size_t size, const std::string& name, bool readOnly = false) {
  void* address = mmap(nullptr, size, readOnly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);
  if (address == MAP_FAILED) throw SystemError(env, err, "mmap", name);
  // Past the guard table's size a mapping is still read-only; a write to it
  // is then only reported as the bare SIGSEGV.
  bool guarded = readOnly && GuardReadOnly(address, size);
  return WrapMapping(env, address, size, guarded);
}

static Napi::Value CreateSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = NameArgument(info);
  if (!info[1].IsNumber()) throw Napi::TypeError::New(env, "size must be a number");
  double size = info[1].As<Napi::Number>().DoubleValue();
  if (!(size > 0) || size > 9007199254740991.0) throw Napi::RangeError::New(env, "size must be a positive integer");
  int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw SystemError(env, errno, "shm_open", name);
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    int err = errno;
    close(fd);
    shm_unlink(name.c_str());
    throw SystemError(env, err, "ftruncate", name);
  }
  return MapDescriptor(env, fd, static_cast<size_t>(size), name);
}

static Napi::Value OpenSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = NameArgument(info);
  bool readOnly = info.Length() > 1 && info[1].ToBoolean().Value();
  int fd = shm_open(name.c_str(), (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0600);
  if (fd < 0) throw SystemError(env, errno, "shm_open", name);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    throw SystemError(env, err, "fstat", name);
  }
  if (st.st_size == 0) {
    close(fd);
    // mmap cannot map zero bytes; an empty segment is still a valid, empty buffer.
    return FromV8(env, v8::SharedArrayBuffer::New(v8::Isolate::GetCurrent(), 0));
  }
  return MapDescriptor(env, fd, static_cast<size_t>(st.st_size), name, readOnly);
}

static Napi::Value UnlinkSegment(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = NameArgument(info);
  if (shm_unlink(name.c_str()) != 0) throw SystemError(env, errno, "shm_unlink", name);
  return env.Undefined();
}

void InitSegments(Napi::Env env, Napi::Object exports) {
  exports.Set("createSegment", Napi::Function::New(env, CreateSegment, "createSegment"));
  exports.Set("openSegment", Napi::Function::New(env, OpenSegment, "openSegment"));
  exports.Set("unlinkSegment", Napi::Function::New(env, UnlinkSegment, "unlinkSegment"));
}

}  // namespace multiproc
