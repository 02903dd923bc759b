#include "models/init.h"

#include <cmath>
#include <vector>

#include "kernels/philox.h"

namespace gkd::models {

autograd::Parameter glorot_uniform(std::string name, int64_t rows, int64_t cols, uint64_t seed,
                                   uint64_t stream, double gain, int64_t fan_in, int64_t fan_out) {
  const double fi = static_cast<double>(fan_in > 0 ? fan_in : rows);
  const double fo = static_cast<double>(fan_out > 0 ? fan_out : cols);
  const double bound = gain * std::sqrt(6.0 / (fi + fo));
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (size_t k = 0; k < w.size(); ++k) {
    w[k] = static_cast<float>(bound * (2.0 * kernels::philox_uniform(seed, stream, k) - 1.0));
  }
  return {std::move(name), Tensor::from_vector<float>(rows, cols, w), {}};
}

autograd::Parameter ones(std::string name, int64_t rows, int64_t cols) {
  return {std::move(name), Tensor::full(rows, cols, 1.0, DType::kF32), {}};
}

autograd::Parameter zeros(std::string name, int64_t rows, int64_t cols) {
  return {std::move(name), Tensor::zeros(rows, cols, DType::kF32), {}};
}

}  // namespace gkd::models
