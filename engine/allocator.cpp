#include "engine/allocator.h"

#include <atomic>
#include <cstdlib>

#include "engine/device.h"
#include "engine/error.h"

namespace gkd {

namespace {

// Every host block starts with a header holding its size, so that host_free can account for it;
// the header is one alignment unit, which keeps the caller's pointer 64-byte aligned.
constexpr size_t kHostAlign = 64;
std::atomic<size_t> host_in_use{0}, host_peak{0};

}  // namespace

void* host_allocate(size_t bytes) {
  const size_t rounded = (bytes + kHostAlign - 1) / kHostAlign * kHostAlign;
  void* base = std::aligned_alloc(kHostAlign, rounded + kHostAlign);
  GKD_CHECK(base != nullptr, "[host_allocate] cannot allocate ", bytes, " bytes of host memory");
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
  host_in_use.fetch_sub(*static_cast<size_t*>(base));
  std::free(base);
}

HostMemoryStats host_memory_stats() {
  return {.bytes_in_use = host_in_use.load(), .peak_bytes = host_peak.load()};
}

void reset_host_peak() {
  host_peak.store(host_in_use.load());
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
