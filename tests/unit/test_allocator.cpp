#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>

#include "engine/allocator.h"
#include "engine/error.h"
#include "engine/memory_budget.h"
#include "engine/tensor.h"

using namespace gkd;

namespace {
int g_raw_allocs = 0, g_raw_frees = 0;
void* counting_alloc(size_t bytes) {
  ++g_raw_allocs;
  return std::malloc(bytes);
}
void counting_free(void* p) noexcept {
  ++g_raw_frees;
  std::free(p);
}
}  // namespace

TEST_CASE("allocator: a warm cache serves repeated allocations without raw calls") {
  g_raw_allocs = g_raw_frees = 0;
  gkd::CachingAllocator alloc(counting_alloc, counting_free);
  for (int step = 0; step < 10; ++step) {
    void* a = alloc.allocate(1000);
    void* b = alloc.allocate(3 << 20);
    void* c = alloc.allocate(1001);  // same size class as a, but a is live: a second block
    alloc.deallocate(a);
    alloc.deallocate(b);
    alloc.deallocate(c);
  }
  CHECK(g_raw_allocs == 3);
  const auto stats = alloc.stats();
  CHECK(stats.cache_hits == 27);
  CHECK(stats.bytes_in_use == 0);
  alloc.release_cached();
  CHECK(g_raw_frees == 3);
  CHECK(alloc.stats().bytes_cached == 0);
}

TEST_CASE("allocator: size classes round up and never shrink a request") {
  using gkd::CachingAllocator;
  CHECK(CachingAllocator::size_class(0) == 512);
  CHECK(CachingAllocator::size_class(1) == 512);
  CHECK(CachingAllocator::size_class(513) == 1024);
  CHECK(CachingAllocator::size_class((1 << 20) + 1) == (2 << 20));
  for (size_t b : {size_t{7}, size_t{4096}, size_t{999999}, size_t{5} << 20})
    CHECK(CachingAllocator::size_class(b) >= b);
}

TEST_CASE("allocator: an exhausted raw allocator frees the cache, retries, then throws") {
  static int budget = 0;
  static int frees = 0;
  gkd::CachingAllocator alloc(
      [](size_t bytes) -> void* { return budget-- > 0 ? std::malloc(bytes) : nullptr; },
      [](void* p) noexcept {
        ++frees;
        std::free(p);
      });
  budget = 1;
  alloc.deallocate(alloc.allocate(100));  // one block cached
  budget = 0;
  CHECK_THROWS_WITH_AS(alloc.allocate(8192), doctest::Contains("cannot allocate 8192 bytes"),
                       gkd::Error);
  CHECK(frees == 1);  // the cached block went back before the retry
  CHECK(alloc.stats().bytes_cached == 0);
  budget = 1;
  void* b = alloc.allocate(8192);
  CHECK(b != nullptr);
  alloc.deallocate(b);
}

TEST_CASE("allocator: host memory in use and its peak follow tensor lifetimes") {
  const size_t base = host_memory_stats().bytes_in_use;
  reset_host_peak();
  {
    const Tensor a = Tensor::zeros(1000, 10, DType::kF32);  // 40,000 B, a multiple of 64
    CHECK(host_memory_stats().bytes_in_use == base + 40000);
    { const Tensor b = Tensor::zeros(1, 1, DType::kF64); }  // 8 B, rounded to 64
    CHECK(host_memory_stats().peak_bytes == base + 40064);
  }
  CHECK(host_memory_stats().bytes_in_use == base);
  reset_host_peak();
  CHECK(host_memory_stats().peak_bytes == base);
}

TEST_CASE("allocator: host tensors reuse cached blocks; blocks above the limit bypass the cache") {
  CachingAllocator& cache = host_allocator();
  { const Tensor warm = Tensor::zeros(300, 300, DType::kF32); }  // 360,000 B, then cached
  const auto before = cache.stats();
  for (int step = 0; step < 5; ++step) {
    const Tensor t = Tensor::zeros(300, 300, DType::kF32);
    CHECK(reinterpret_cast<uintptr_t>(t.data<float>()) % 64 == 0);
  }
  CHECK(cache.stats().cache_hits == before.cache_hits + 5);
  CHECK(cache.stats().raw_allocations == before.raw_allocations);
  const int64_t rows = static_cast<int64_t>(kHostCachedBlock / sizeof(float) / 16);
  {
    const Tensor big = Tensor::zeros(rows, 16, DType::kF32);  // the limit plus the header
    CHECK(host_memory_stats().bytes_in_use >= kHostCachedBlock);
  }
  CHECK(cache.stats().raw_allocations == before.raw_allocations);
  CHECK(cache.stats().bytes_cached == before.bytes_cached);
}

TEST_CASE("memory budget: GKD_MEMORY_LIMIT caps the available memory and check_fits names it") {
  CHECK(format_bytes(812) == "812 B");
  CHECK(format_bytes(3 * 1024 * 1024 + 400 * 1024) == "3.4 MiB");
  CHECK(format_bytes(int64_t{5} << 40) == "5.0 TiB");
  ::setenv("GKD_MEMORY_LIMIT", "64M", 1);
  CHECK(available_memory(Device::kCPU) <= int64_t{64} << 20);
  check_fits(Device::kCPU, "a small job", 1 << 20);
  CHECK_THROWS_WITH_AS(check_fits(Device::kCPU, "a big job", int64_t{3} << 30),
                       "a big job needs about 3.0 GiB of cpu memory, but 64.0 MiB are available "
                       "(the machine's free memory, or GKD_MEMORY_LIMIT)",
                       Error);
  ::setenv("GKD_MEMORY_LIMIT", "64X", 1);
  CHECK_THROWS_WITH_AS(available_memory(Device::kCPU),
                       doctest::Contains("GKD_MEMORY_LIMIT is '64X'"), Error);
  ::unsetenv("GKD_MEMORY_LIMIT");
  CHECK(available_memory(Device::kCPU) > 0);  // /proc/meminfo on Linux
}
