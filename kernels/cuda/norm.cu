// CUDA twins of batch normalisation (kernels/norm.h). One block per tile of 32 columns does
// everything for its columns: the column sums (16 row lanes, each summing its rows in increasing
// order in double, the lanes then added in order, so results are the same on every run), the
// statistics and running-statistics update, then the normalisation (or the input gradient) of
// every row. Few blocks for narrow tensors; correct first, tuned on a GPU later.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/registry.h"

namespace gkd::kernels::cuda {
namespace {

__device__ inline double value_or(const ConstMatView<float>& v, int64_t j, double fallback) {
  return v.data ? double(v(0, j)) : fallback;
}

__global__ void batch_norm_kernel(BatchNormArgs<float> a) {
  const int64_t n = a.x.rows, j = blockIdx.x * int64_t{kColTile} + threadIdx.x;
  const bool active = j < a.x.cols;
  double mean = 0, var = 0;
  if (a.training) {
    mean = column_total(n, active, [&](int64_t i) { return double(a.x(i, j)); }) / double(n);
    var = column_total(n, active,
                       [&](int64_t i) {
                         const double d = double(a.x(i, j)) - mean;
                         return d * d;
                       }) /
          double(n);
  } else if (active) {
    mean = a.running_mean(0, j);
    var = a.running_var(0, j);
  }
  if (!active) return;  // after the last barrier
  const double inv_std = 1.0 / sqrt(var + a.eps);
  if (threadIdx.y == 0) {
    a.saved_mean(0, j) = static_cast<float>(mean);
    a.saved_inv_std(0, j) = static_cast<float>(inv_std);
    if (a.training && a.running_mean.data) {
      const double m = a.momentum;
      a.running_mean(0, j) = static_cast<float>((1 - m) * double(a.running_mean(0, j)) + m * mean);
      a.running_var(0, j) = static_cast<float>((1 - m) * double(a.running_var(0, j)) +
                                               m * var * double(n) / double(n - 1));
    }
  }
  const double scale = inv_std * value_or(a.gamma, j, 1.0);
  const double shift = value_or(a.beta, j, 0.0) - mean * scale;
  for (int64_t i = threadIdx.y; i < n; i += kRowLanes) {
    a.y(i, j) = static_cast<float>(double(a.x(i, j)) * scale + shift);
  }
}

__global__ void batch_norm_backward_kernel(BatchNormBackwardArgs<float> a) {
  const int64_t n = a.x.rows, j = blockIdx.x * int64_t{kColTile} + threadIdx.x;
  const bool active = j < a.x.cols;
  const double mean = active ? double(a.saved_mean(0, j)) : 0.0;
  const double s = active ? double(a.saved_inv_std(0, j)) : 0.0;
  const double sum_dy = column_total(n, active, [&](int64_t i) { return double(a.dy(i, j)); });
  const double sum_dy_xhat = column_total(
      n, active, [&](int64_t i) { return double(a.dy(i, j)) * (double(a.x(i, j)) - mean) * s; });
  if (!active) return;  // after the last barrier
  if (threadIdx.y == 0) {
    if (a.dgamma.data) store(a.dgamma(0, j), sum_dy_xhat, a.accumulate);
    if (a.dbeta.data) store(a.dbeta(0, j), sum_dy, a.accumulate);
  }
  if (!a.dx.data) return;
  const double g = value_or(a.gamma, j, 1.0) * s;
  for (int64_t i = threadIdx.y; i < n; i += kRowLanes) {
    double d = a.dy(i, j);
    if (a.training) {
      const double xhat = (double(a.x(i, j)) - mean) * s;
      d -= (sum_dy + xhat * sum_dy_xhat) / double(n);
    }
    store(a.dx(i, j), g * d, a.accumulate);
  }
}

}  // namespace

void batch_norm(const BatchNormArgs<float>& a, Stream stream) {
  if (a.x.cols == 0) return;
  batch_norm_kernel<<<column_tiles(a.x.cols), dim3(kColTile, kRowLanes), 0, raw(stream)>>>(a);
  check_launch("batch_norm");
}

void batch_norm_backward(const BatchNormBackwardArgs<float>& a, Stream stream) {
  if (a.x.cols == 0) return;
  batch_norm_backward_kernel<<<column_tiles(a.x.cols), dim3(kColTile, kRowLanes), 0, raw(stream)>>>(
      a);
  check_launch("batch_norm_backward");
}

}  // namespace gkd::kernels::cuda
