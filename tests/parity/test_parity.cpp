// CUDA twin == CPU twin. Outputs are poisoned with NaN before each call so an unwritten element
// fails; tolerances grow with the reduction length.
#include <doctest/doctest.h>

#include <cmath>

#include "engine/context.h"
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
