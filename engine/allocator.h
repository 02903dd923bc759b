// Memory for tensors. Host memory is 64-byte aligned (vector loads, cache lines). Both host and
// device memory go through a caching allocator, so a training step, once warm, never calls the
// system: freed blocks are kept per size class and handed out again. On the device that avoids
// cudaMalloc; on the host, glibc returned freed blocks above its mmap threshold to the kernel, and
// every step then took page faults to map and zero them again (10-15% of a 1-thread GAT epoch on
// Cora). Device blocks are reused in stream order, which is safe because every kernel of a Context
// runs on its one stream.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

namespace gkd {

// 64-byte aligned, from host_allocator() up to kHostCachedBlock bytes and from the system above
// (a block that large costs its page faults once per use at most, against work in proportion);
// throws gkd::Error on failure.
void* host_allocate(size_t bytes);
void host_free(void* ptr) noexcept;
inline constexpr size_t kHostCachedBlock = size_t{64} << 20;

// Host tensor memory of the whole process (sizes rounded to 64 B), for footprint estimates and
// their tests: what live tensors hold now (not the cache), and the most they held at once since
// the last reset_host_peak().
struct HostMemoryStats {
  size_t bytes_in_use = 0;
  size_t peak_bytes = 0;
};
HostMemoryStats host_memory_stats();
void reset_host_peak();

class CachingAllocator {
 public:
  using RawAllocate = void* (*)(size_t bytes);
  using RawFree = void (*)(void* ptr) noexcept;

  struct Stats {
    size_t raw_allocations = 0;  // calls to the raw allocator
    size_t cache_hits = 0;       // allocations served from the cache
    size_t bytes_in_use = 0;     // held by live allocations (rounded sizes)
    size_t bytes_cached = 0;     // freed, kept for reuse
  };

  // `name` prefixes the error of an allocation the raw allocator cannot serve.
  CachingAllocator(RawAllocate raw_allocate, RawFree raw_free, const char* name = "allocate");
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  void* allocate(size_t bytes);
  void deallocate(void* ptr) noexcept;
  void release_cached() noexcept;  // returns every cached block to the raw allocator
  Stats stats() const;

  // Sizes are rounded up to a class so that similar requests share blocks: 512 B granularity below
  // 1 MiB, 2 MiB granularity above.
  static size_t size_class(size_t bytes);

 private:
  RawAllocate raw_allocate_;
  RawFree raw_free_;
  const char* name_;
  mutable std::mutex mutex_;
  std::map<void*, size_t> live_;                 // ptr -> rounded size
  std::map<size_t, std::vector<void*>> cached_;  // rounded size -> free blocks
  Stats stats_;
};

// The process-wide caching allocators of host memory and of CUDA device 0 (created on first use).
CachingAllocator& host_allocator();
CachingAllocator& cuda_allocator();

}  // namespace gkd
