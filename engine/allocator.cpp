#include "engine/allocator.h"

#include <cstdlib>

#include "engine/device.h"
#include "engine/error.h"

namespace gkd {

void* host_allocate(size_t bytes) {
  constexpr size_t kAlign = 64;
  const size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  void* ptr = std::aligned_alloc(kAlign, rounded == 0 ? kAlign : rounded);
  GKD_CHECK(ptr != nullptr, "[host_allocate] cannot allocate ", bytes, " bytes of host memory");
  return ptr;
}

void host_free(void* ptr) noexcept {
  std::free(ptr);
}

CachingAllocator::CachingAllocator(RawAllocate raw_allocate, RawFree raw_free)
    : raw_allocate_(raw_allocate), raw_free_(raw_free) {}

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
      GKD_CHECK(ptr != nullptr, "[allocate] cannot allocate ", bytes, " bytes");
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
      [](void* ptr) noexcept { device::cuda_free(ptr); });
  return *allocator;
}

}  // namespace gkd
