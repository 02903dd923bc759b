// CUDA twin of inverted dropout (kernels/dense.h). A thread takes four consecutive logical
// indices 4b .. 4b+3 of the [N, F] view: one Philox block gives their four words, the same words
// philox_bits draws on the CPU, so the mask is bit-identical.
#include <cuda_runtime.h>

#include "kernels/cuda/launch.cuh"
#include "kernels/philox.h"
#include "kernels/registry.h"

namespace gkd::kernels::cuda {
namespace {

__global__ void dropout_kernel(DropoutArgs<float> a, float scale) {
  const int64_t n = a.x.rows * a.x.cols, blocks = (n + 3) / 4;
  for (int64_t b = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; b < blocks;
       b += int64_t{gridDim.x} * blockDim.x) {
    const auto block = static_cast<uint64_t>(b);
    const Philox4 r = philox4x32_10(
        Philox4{{static_cast<uint32_t>(block), static_cast<uint32_t>(block >> 32),
                 static_cast<uint32_t>(a.stream), static_cast<uint32_t>(a.stream >> 32)}},
        static_cast<uint32_t>(a.seed), static_cast<uint32_t>(a.seed >> 32));
    for (int w = 0; w < 4; ++w) {
      const int64_t k = 4 * b + w;
      if (k >= n) break;
      const int64_t i = k / a.x.cols, j = k % a.x.cols;
      // philox_uniform's float compare, as the CPU twin.
      const bool keep = static_cast<float>(r.v[w] >> 8) * (1.0f / 16777216.0f) >= a.p;
      // Explicitly rounded operations: no contraction into an FMA, so y matches the CPU bit for
      // bit (its build compiles with -ffp-contract=off).
      const float value = __fmul_rn(a.x(i, j), keep ? scale : 0.0f);
      float& y = a.y(i, j);
      y = a.accumulate ? __fadd_rn(y, value) : value;
    }
  }
}

}  // namespace

void dropout(const DropoutArgs<float>& a, Stream stream) {
  const int64_t n = a.x.rows * a.x.cols;
  if (n == 0) return;
  const float scale = 1.0f / (1.0f - a.p);
  dropout_kernel<<<grid_for((n + 3) / 4, kBlock), kBlock, 0, raw(stream)>>>(a, scale);
  check_launch("dropout");
}

}  // namespace gkd::kernels::cuda
