// CPU twin of batch normalisation (kernels/norm.h). Column blocks run in parallel; within a block
// the rows are summed in double in increasing order, so the result is independent of threads.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

constexpr int64_t kBlock = 16;  // columns per task: one cache line of f32 per row

template <class T>
double value_or(const ConstMatView<T>& v, int64_t j, double fallback) {
  return v.data ? double(v(0, j)) : fallback;
}

}  // namespace

template <class T>
void batch_norm(const BatchNormArgs<T>& a) {
  const int64_t n = a.x.rows, f = a.x.cols;
#pragma omp parallel for schedule(static)
  for (int64_t j0 = 0; j0 < f; j0 += kBlock) {
    const int64_t j1 = std::min(f, j0 + kBlock);
    double mean[kBlock], var[kBlock];
    for (int64_t j = j0; j < j1; ++j) {
      mean[j - j0] = a.training ? 0.0 : double(a.running_mean(0, j));
      var[j - j0] = a.training ? 0.0 : double(a.running_var(0, j));
    }
    if (a.training) {
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = j0; j < j1; ++j) mean[j - j0] += a.x(i, j);
      for (int64_t j = j0; j < j1; ++j) mean[j - j0] /= double(n);
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = j0; j < j1; ++j) {
          const double d = double(a.x(i, j)) - mean[j - j0];
          var[j - j0] += d * d;
        }
      for (int64_t j = j0; j < j1; ++j) {
        var[j - j0] /= double(n);
        if (a.running_mean.data) {
          const double m = a.momentum;
          a.running_mean(0, j) = T((1 - m) * double(a.running_mean(0, j)) + m * mean[j - j0]);
          a.running_var(0, j) = T((1 - m) * double(a.running_var(0, j)) +
                                  m * var[j - j0] * double(n) / double(n - 1));
        }
      }
    }
    double scale[kBlock], shift[kBlock];
    for (int64_t j = j0; j < j1; ++j) {
      const double inv_std = 1.0 / std::sqrt(var[j - j0] + a.eps);
      a.saved_mean(0, j) = T(mean[j - j0]);
      a.saved_inv_std(0, j) = T(inv_std);
      scale[j - j0] = inv_std * value_or(a.gamma, j, 1.0);
      shift[j - j0] = value_or(a.beta, j, 0.0) - mean[j - j0] * scale[j - j0];
    }
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = j0; j < j1; ++j)
        a.y(i, j) = T(double(a.x(i, j)) * scale[j - j0] + shift[j - j0]);
  }
}

template <class T>
void batch_norm_backward(const BatchNormBackwardArgs<T>& a) {
  const int64_t n = a.x.rows, f = a.x.cols;
  auto put = [&](T& out, double v) { out = T(a.accumulate ? double(out) + v : v); };
#pragma omp parallel for schedule(static)
  for (int64_t j0 = 0; j0 < f; j0 += kBlock) {
    const int64_t j1 = std::min(f, j0 + kBlock);
    double sum_dy[kBlock] = {}, sum_dy_xhat[kBlock] = {};
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = j0; j < j1; ++j) {
        const double xhat = (double(a.x(i, j)) - a.saved_mean(0, j)) * a.saved_inv_std(0, j);
        sum_dy[j - j0] += a.dy(i, j);
        sum_dy_xhat[j - j0] += double(a.dy(i, j)) * xhat;
      }
    for (int64_t j = j0; j < j1; ++j) {
      if (a.dgamma.data) put(a.dgamma(0, j), sum_dy_xhat[j - j0]);
      if (a.dbeta.data) put(a.dbeta(0, j), sum_dy[j - j0]);
    }
    if (!a.dx.data) continue;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = j0; j < j1; ++j) {
        const double s = double(a.saved_inv_std(0, j)), g = value_or(a.gamma, j, 1.0) * s;
        double d = a.dy(i, j);
        if (a.training) {
          const double xhat = (double(a.x(i, j)) - a.saved_mean(0, j)) * s;
          d -= (sum_dy[j - j0] + xhat * sum_dy_xhat[j - j0]) / double(n);
        }
        put(a.dx(i, j), g * d);
      }
  }
}

#define GKD_INSTANTIATE(name, Args)              \
  template void name<float>(const Args<float>&); \
  template void name<double>(const Args<double>&);
GKD_INSTANTIATE(batch_norm, BatchNormArgs)
GKD_INSTANTIATE(batch_norm_backward, BatchNormBackwardArgs)
#undef GKD_INSTANTIATE

}  // namespace gkd::kernels::cpu
