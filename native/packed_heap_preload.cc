// A tiny library preloaded (LD_PRELOAD) into fork-ready Node processes only:
// a program run by the `multiproc` command, and the forkserver zygote. It is
// not part of the addon; it is its own shared object (binding.gyp).
//
// Why: V8 asks mmap for every 256 KB heap page at a random address (a hint,
// for address-space randomization), so a small Node heap of ~50 pages is
// spread over ~70 regions gigabytes apart. A fork() copies the page tables
// that map them, and each far-apart page needs a page-table page of each
// level of its own: ~230 page-table pages allocated, zeroed and later freed
// for every child. Measured on a paravirtualized 2-core guest: fork() took
// 3.6 ms in a fork-ready program against 0.75 ms in Python, and dropping the
// hints took a burst of 64 forked children from ~1.3 s to ~1.0 s. Without a
// hint the kernel packs the pages together below the other mappings; the
// base of that area is still randomized per process.
//
// Only small anonymous mappings lose their hint. A large reservation keeps it:
// V8 places its code range near Node's own code on purpose (short calls).
// Both mmap and mmap64 are defined below (Node's builds import either); with
// 64-bit file offsets the headers would make them one symbol.
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cstdlib>
#include <cstring>

namespace {

constexpr size_t kLargestUnhinted = size_t{64} << 20;

void* MapWithoutSmallHints(void* address, size_t length, int protection, int flags, int fd, off_t offset) {
  bool anonymous = (flags & MAP_ANONYMOUS) != 0;
  bool placed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0;
  if (address != nullptr && anonymous && !placed && length <= kLargestUnhinted) address = nullptr;
  // The raw call: glibc's mmap is the one being replaced. syscall() sets errno
  // and returns -1, which is MAP_FAILED.
  return reinterpret_cast<void*>(syscall(SYS_mmap, address, length, protection, flags, fd, offset));
}

// The preload is for this process alone: it takes itself out of LD_PRELOAD
// before Node reads the environment, so the program's own spawned processes
// are as without it (a user's own LD_PRELOAD entries are kept). Plain C
// strings: this runs before main, and needs nothing but libc.
__attribute__((constructor)) void RemoveSelfFromPreload() {
  Dl_info self;
  const char* current = getenv("LD_PRELOAD");
  if (current == nullptr || dladdr(reinterpret_cast<void*>(&MapWithoutSmallHints), &self) == 0 || self.dli_fname == nullptr) return;
  size_t selfLength = strlen(self.dli_fname);
  char* kept = static_cast<char*>(calloc(strlen(current) + 1, 1));
  if (kept == nullptr) return;
  for (const char* at = current; *at != '\0';) {
    size_t length = strcspn(at, ": ");
    bool isSelf = length == selfLength && strncmp(at, self.dli_fname, length) == 0;
    if (length > 0 && !isSelf) {
      if (kept[0] != '\0') strcat(kept, ":");
      strncat(kept, at, length);
    }
    at += length;
    if (*at != '\0') at++;
  }
  if (kept[0] == '\0') unsetenv("LD_PRELOAD");
  else setenv("LD_PRELOAD", kept, 1);
  free(kept);
}

}  // namespace

extern "C" {
__attribute__((visibility("default"))) void* mmap(void* address, size_t length, int protection, int flags, int fd, off_t offset) {
  return MapWithoutSmallHints(address, length, protection, flags, fd, offset);
}
__attribute__((visibility("default"))) void* mmap64(void* address, size_t length, int protection, int flags, int fd, off_t offset) {
  return MapWithoutSmallHints(address, length, protection, flags, fd, offset);
}
}
