// CUDA twins of row softmax / log-softmax and their backward passes (kernels/dense.h): one warp per
// row, lanes over the columns, shuffle trees for the max and the double sums (a fixed order, so a
// result is the same on every run).
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/registry.h"

namespace gkd::kernels::cuda {
namespace {

constexpr int kWarpsPerBlock = kBlock / 32;

#define GKD_WARP_PER_ROW(i, rows)                                                       \
  for (int64_t i = blockIdx.x * int64_t{kWarpsPerBlock} + threadIdx.x / 32; i < (rows); \
       i += int64_t{gridDim.x} * kWarpsPerBlock)

__global__ void softmax_kernel(SoftmaxArgs<float> a) {
  const int lane = threadIdx.x % 32;
  const int64_t cols = a.x.cols;
  GKD_WARP_PER_ROW(i, a.x.rows) {
    const float* x = a.x.data + i * a.x.ld;
    float* y = a.y.data + i * a.y.ld;  // may be x: every lane reads its columns before writing
    double max = -INFINITY;
    for (int64_t j = lane; j < cols; j += 32) max = fmax(max, double(x[j]));
    max = warp_max(max);
    double sum = 0;
    for (int64_t j = lane; j < cols; j += 32) sum += exp(double(x[j]) - max);
    sum = warp_sum(sum);
    if (a.log) {
      const double shift = max + log(sum);
      for (int64_t j = lane; j < cols; j += 32) y[j] = static_cast<float>(double(x[j]) - shift);
    } else {
      const double inv = 1.0 / sum;
      for (int64_t j = lane; j < cols; j += 32) {
        y[j] = static_cast<float>(exp(double(x[j]) - max) * inv);
      }
    }
  }
}

__global__ void softmax_backward_kernel(SoftmaxBackwardArgs<float> a) {
  const int lane = threadIdx.x % 32;
  const int64_t cols = a.y.cols;
  GKD_WARP_PER_ROW(i, a.y.rows) {
    const float* y = a.y.data + i * a.y.ld;
    const float* dy = a.dy.data + i * a.dy.ld;
    float* dx = a.dx.data + i * a.dx.ld;  // may be dy: the dot is complete before any write
    double dot = 0;                       // softmax: Σ dy y ; log-softmax: Σ dy
    for (int64_t j = lane; j < cols; j += 32) dot += a.log ? double(dy[j]) : double(dy[j]) * y[j];
    dot = warp_sum(dot);
    for (int64_t j = lane; j < cols; j += 32) {
      const double g =
          a.log ? dy[j] - exp(double(y[j])) * dot : double(y[j]) * (double(dy[j]) - dot);
      dx[j] = a.accumulate ? static_cast<float>(dx[j] + g) : static_cast<float>(g);
    }
  }
}

}  // namespace

void softmax_rows(const SoftmaxArgs<float>& a, Stream stream) {
  if (a.x.rows == 0 || a.x.cols == 0) return;
  softmax_kernel<<<grid_for(a.x.rows, kWarpsPerBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("softmax_rows");
}

void softmax_rows_backward(const SoftmaxBackwardArgs<float>& a, Stream stream) {
  if (a.y.rows == 0 || a.y.cols == 0) return;
  softmax_backward_kernel<<<grid_for(a.y.rows, kWarpsPerBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("softmax_rows_backward");
}

}  // namespace gkd::kernels::cuda
