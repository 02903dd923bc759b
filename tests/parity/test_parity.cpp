// CUDA twin == CPU twin. Outputs are poisoned with NaN before each call so an unwritten element
// fails; tolerances grow with the reduction length.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "engine/allocator.h"
#include "engine/context.h"
#include "kernels/philox.h"
#include "tests/support/fixtures.h"

using namespace gkd;

TEST_CASE("parity: fill writes every element of a strided view and nothing else") {
  for (int64_t cols : {1, 31, 33, 130}) {
    Tensor base = Tensor::full(67, cols + 3, NAN, DType::kF32, Device::kCUDA);
    Tensor view = base.slice_cols(1, 1 + cols);
    view.fill(2.5);
    const auto host = base.to_vector<float>();
    for (int64_t i = 0; i < 67; ++i) {
      for (int64_t j = 0; j < cols + 3; ++j) {
        const float v = host[i * (cols + 3) + j];
        if (j >= 1 && j < 1 + cols) {
          REQUIRE(v == 2.5f);
        } else {
          REQUIRE(std::isnan(v));
        }
      }
    }
  }
}

namespace gkd::test {
void philox_bits_on_device(uint64_t seed, uint64_t stream, int64_t n, uint32_t* host_out);
}

TEST_CASE("parity: Philox streams are bit-identical on the device and the host") {
  const int64_t n = 1 << 16;
  for (uint64_t seed : {uint64_t{0}, uint64_t{42}, test::fresh_seed()}) {
    std::vector<uint32_t> device(n);
    test::philox_bits_on_device(seed, 7, n, device.data());
    for (int64_t i = 0; i < n; ++i) {
      REQUIRE(device[i] == kernels::philox_bits(seed, 7, static_cast<uint64_t>(i)));
    }
  }
}

TEST_CASE("parity: the caching allocator serves a warm step without new device allocations") {
  const auto before = cuda_allocator().stats();
  for (int step = 0; step < 5; ++step) {
    Tensor a = Tensor::zeros(1000, 64, DType::kF32, Device::kCUDA);
    Tensor b = a.clone();
    CHECK(b.to(Device::kCPU).to_vector<float>() == std::vector<float>(64000, 0.0f));
  }
  const auto after = cuda_allocator().stats();
  CHECK(after.raw_allocations - before.raw_allocations <= 2);  // the first step only
}
