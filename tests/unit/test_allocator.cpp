#include <doctest/doctest.h>

#include <cstdlib>

#include "engine/allocator.h"
#include "engine/error.h"

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
