#include "engine/allocator.h"

#include <atomic>
#include <cstdlib>

#include "engine/device.h"
#include "engine/error.h"

namespace gkd {

namespace {

// Every host block starts with a header holding its size, so that host_free can account for it
// and knows where the block came from; the header is one alignment unit, which keeps the caller's
// pointer 64-byte aligned.
constexpr size_t kHostAlign = 64;
std::atomic<size_t> host_in_use{0}, host_peak{0};

// Size classes are multiples of 512 B, so every request is a multiple of the alignment, as
// aligned_alloc requires.
void* system_allocate(size_t bytes) {
  return std::aligned_alloc(kHostAlign, bytes);
}
void system_free(void* ptr) noexcept {
  std::free(ptr);
}

}  // namespace

void* host_allocate(size_t bytes) {
  const size_t rounded = (bytes + kHostAlign - 1) / kHostAlign * kHostAlign;
  const size_t block = rounded + kHostAlign;
  void* base = nullptr;
  if (block <= kHostCachedBlock) {
    base = host_allocator().allocate(block);
  } else {
    base = system_allocate(block);
    GKD_CHECK(base != nullptr, "[host_allocate] cannot allocate ", bytes, " bytes of host memory");
  }
  *static_cast<size_t*>(base) = rounded;
  const size_t now = host_in_use.fetch_add(rounded) + rounded;
  size_t peak = host_peak.load();
  while (now > peak && !host_peak.compare_exchange_weak(peak, now)) {
  }
  return static_cast<char*>(base) + kHostAlign;
}

void host_free(void* ptr) noexcept {
  if (ptr == nullptr) return;
  void* base = static_cast<char*>(ptr) - kHostAlign;
  const size_t rounded = *static_cast<size_t*>(base);
  host_in_use.fetch_sub(rounded);
  if (rounded + kHostAlign <= kHostCachedBlock) {
    host_allocator().deallocate(base);
  } else {
    system_free(base);
  }
}

HostMemoryStats host_memory_stats() {
  return {.bytes_in_use = host_in_use.load(), .peak_bytes = host_peak.load()};
}

void reset_host_peak() {
  host_peak.store(host_in_use.load());
}

CachingAllocator::CachingAllocator(RawAllocate raw_allocate, RawFree raw_free, const char* name)
    : raw_allocate_(raw_allocate), raw_free_(raw_free), name_(name) {}

CachingAllocator::~CachingAllocator() {
  release_cached();
}

size_t CachingAllocator::size_class(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t{2} << 20, kSmallLimit = size_t{1} << 20;
  if (bytes == 0) return kSmall;
  const size_t unit = bytes < kSmallLimit ? kSmall : kLarge;
  return (bytes + unit - 1) / unit * unit;
}

void* CachingAllocator::allocate(size_t bytes) {
  const size_t rounded = size_class(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  void* ptr = nullptr;
  auto it = cached_.find(rounded);
  if (it != cached_.end() && !it->second.empty()) {
    ptr = it->second.back();
    it->second.pop_back();
    stats_.cache_hits++;
    stats_.bytes_cached -= rounded;
  } else {
    ptr = raw_allocate_(rounded);
    if (ptr == nullptr) {
      // Out of memory with blocks cached: give them back and try once more.
      for (auto& [size, blocks] : cached_)
        for (void* b : blocks) raw_free_(b);
      cached_.clear();
      stats_.bytes_cached = 0;
      ptr = raw_allocate_(rounded);
      GKD_CHECK(ptr != nullptr, "[", name_, "] cannot allocate ", bytes, " bytes");
    }
    stats_.raw_allocations++;
  }
  live_[ptr] = rounded;
  stats_.bytes_in_use += rounded;
  return ptr;
}

void CachingAllocator::deallocate(void* ptr) noexcept {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  if (it == live_.end()) {
    log(LogLevel::kError, "[deallocate] pointer was not allocated by this allocator");
    return;
  }
  cached_[it->second].push_back(ptr);
  stats_.bytes_in_use -= it->second;
  stats_.bytes_cached += it->second;
  live_.erase(it);
}

void CachingAllocator::release_cached() noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& [size, blocks] : cached_)
    for (void* b : blocks) raw_free_(b);
  cached_.clear();
  stats_.bytes_cached = 0;
}

CachingAllocator::Stats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

CachingAllocator& host_allocator() {
  // Deliberately leaked, like the device's: a tensor held in a static may be freed after any
  // static allocator would have been destroyed.
  static CachingAllocator* allocator =
      new CachingAllocator(system_allocate, system_free, "host_allocate");
  return *allocator;
}

CachingAllocator& cuda_allocator() {
  // Deliberately leaked: freeing device memory during static destruction races the CUDA
  // runtime's own teardown.
  static CachingAllocator* allocator = new CachingAllocator(
      [](size_t bytes) -> void* {
        try {
          return device::cuda_malloc(bytes);
        } catch (const Error&) {
          return nullptr;  // allocate() frees the cache and retries, then reports the failure
        }
      },
      [](void* ptr) noexcept { device::cuda_free(ptr); }, "cuda_allocate");
  return *allocator;
}

}  // namespace gkd
