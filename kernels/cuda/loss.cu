// CUDA twins of the fused losses (kernels/loss.h). Three launches per loss, in stream order:
//   1. with a mask, one block counts the selected rows M (fixed order) into loss[0], as a float:
//      exact up to 2^24 rows, and kernels have no scratch memory of their own;
//   2. one thread per row computes the row's term and gradient in double, reading M from loss[0]
//      (the log-softmax is recomputed class by class instead of stored: no per-thread arrays);
//   3. one block sums the row terms in a fixed order and overwrites loss[0] with Σ rows / D.
// So results are the same on every run; an empty selection gives loss 0 and zero gradients.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/registry.h"

namespace gkd::kernels::cuda {
namespace {

__device__ inline bool selected(const uint8_t* mask, int64_t i) {
  return mask == nullptr || mask[i] != 0;
}

__global__ void count_kernel(const uint8_t* mask, int64_t n, float* count) {
  double m = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m += mask[i] != 0;
  const double total = block_sum(m);
  if (threadIdx.x == 0) *count = static_cast<float>(total);
}

// loss[0] = Σ rows / (M · per_row) with M = n unmasked, else read from loss[0] first.
__global__ void mean_kernel(const float* rows, int64_t n, bool masked, double per_row,
                            float* loss) {
  double s = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) s += rows[i];
  const double m = masked ? double(*loss) : double(n);  // read before the write below
  const double total = block_sum(s);
  if (threadIdx.x == 0) {
    const double divisor = m * per_row;
    *loss = static_cast<float>(divisor > 0 ? total / divisor : 0.0);
  }
}

// The selected-row count M for row kernels: n, or the value count_kernel left in loss[0].
__device__ inline double row_count(const uint8_t* mask, int64_t n, const float* loss) {
  return mask == nullptr ? double(n) : double(*loss);
}

// max_c z[i,c]/T and log Σ_c exp(z[i,c]/T - max): log p_c = z[i,c]/T - max - log_sum.
struct LogSoftmaxRow {
  double max, log_sum;
};
__device__ LogSoftmaxRow log_softmax_row(const ConstMatView<float>& z, int64_t i, double inv_t) {
  double m = -INFINITY;
  for (int64_t c = 0; c < z.cols; ++c) m = fmax(m, double(z(i, c)) * inv_t);
  double s = 0;
  for (int64_t c = 0; c < z.cols; ++c) s += exp(double(z(i, c)) * inv_t - m);
  return {m, log(s)};
}

__device__ inline void zero_row(const MatView<float>& y, int64_t i) {
  if (y.data == nullptr) return;
  for (int64_t c = 0; c < y.cols; ++c) y(i, c) = 0.0f;
}

__global__ void cross_entropy_kernel(CrossEntropyArgs<float> a) {
  const int64_t n = a.logits.rows, c = a.logits.cols;
  GKD_GRID_STRIDE(i, n) {
    if (!selected(a.mask, i)) {
      a.rows[i] = 0.0f;
      zero_row(a.dlogits, i);
      continue;
    }
    const double m = row_count(a.mask, n, a.loss), inv_m = m > 0 ? 1.0 / m : 0.0;
    const int64_t y = a.labels32 ? a.labels32[i] : a.labels64[i];
    const LogSoftmaxRow r = log_softmax_row(a.logits, i, 1.0);
    a.rows[i] = static_cast<float>(-(double(a.logits(i, y)) - r.max - r.log_sum));
    if (a.dlogits.data == nullptr) continue;
    for (int64_t j = 0; j < c; ++j) {
      const double p = exp(double(a.logits(i, j)) - r.max - r.log_sum);
      a.dlogits(i, j) = static_cast<float>((p - (j == y ? 1.0 : 0.0)) * inv_m);
    }
  }
}

__global__ void bce_kernel(BceWithLogitsArgs<float> a) {
  const int64_t n = a.logits.rows, l = a.logits.cols;
  GKD_GRID_STRIDE(i, n) {
    if (!selected(a.mask, i)) {
      a.rows[i] = 0.0f;
      zero_row(a.dlogits, i);
      continue;
    }
    const double divisor = row_count(a.mask, n, a.loss) * double(l);
    const double inv_d = divisor > 0 ? 1.0 / divisor : 0.0;
    double row = 0;
    for (int64_t j = 0; j < l; ++j) {
      const double x = a.logits(i, j), t = a.targets(i, j);
      const double e = exp(-fabs(x));  // in (0, 1]: neither term can overflow
      row += fmax(x, 0.0) - x * t + log1p(e);
      if (a.dlogits.data == nullptr) continue;
      const double sigmoid = x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
      a.dlogits(i, j) = static_cast<float>((sigmoid - t) * inv_d);
    }
    a.rows[i] = static_cast<float>(row);
  }
}

__global__ void kl_div_kernel(KlDivArgs<float> a) {
  const int64_t n = a.student.rows, c = a.student.cols;
  GKD_GRID_STRIDE(i, n) {
    if (!selected(a.mask, i)) {
      a.rows[i] = 0.0f;
      zero_row(a.dstudent, i);
      zero_row(a.dteacher, i);
      if (a.dtemperature) a.dtemperature[i] = 0.0f;
      continue;
    }
    const double m = row_count(a.mask, n, a.loss), inv_m = m > 0 ? 1.0 / m : 0.0;
    const double temp = a.row_temperature ? double(a.row_temperature[i]) : double(a.temperature);
    const double inv_t = 1.0 / temp;
    const LogSoftmaxRow rp = log_softmax_row(a.teacher, i, inv_t);
    const LogSoftmaxRow rq = log_softmax_row(a.student, i, inv_t);
    const auto logp = [&](int64_t j) {
      return double(a.teacher(i, j)) * inv_t - rp.max - rp.log_sum;
    };
    const auto logq = [&](int64_t j) {
      return double(a.student(i, j)) * inv_t - rq.max - rq.log_sum;
    };
    double kl = 0;
    for (int64_t j = 0; j < c; ++j) kl += exp(logp(j)) * (logp(j) - logq(j));
    a.rows[i] = static_cast<float>(temp * temp * kl);
    double dtemp = 0;  // Σ p (d - K) a + Σ (q - p) u, with a, u max-shifted
    for (int64_t j = 0; j < c; ++j) {
      const double lp = logp(j), lq = logq(j), p = exp(lp), q = exp(lq);
      const double dt = p * (lp - lq - kl);
      if (a.dstudent.data) a.dstudent(i, j) = static_cast<float>(temp * (q - p) * inv_m);
      if (a.dteacher.data) a.dteacher(i, j) = static_cast<float>(temp * dt * inv_m);
      dtemp += dt * (lp + rp.log_sum) + (q - p) * (lq + rq.log_sum);
    }
    if (a.dtemperature) {
      a.dtemperature[i] = static_cast<float>((2.0 * temp * kl - temp * dtemp) * inv_m);
    }
  }
}

__global__ void softmax_entropy_kernel(SoftmaxEntropyArgs<float> a) {
  const int64_t n = a.x.rows, c = a.x.cols;
  const double inv_t = 1.0 / double(a.temperature);
  GKD_GRID_STRIDE(i, n) {
    if (!selected(a.mask, i)) {
      a.rows[i] = 0.0f;
      zero_row(a.dx, i);
      continue;
    }
    const double m = row_count(a.mask, n, a.loss), scale = m > 0 ? inv_t / m : 0.0;
    const LogSoftmaxRow r = log_softmax_row(a.x, i, inv_t);
    const auto logp = [&](int64_t j) { return double(a.x(i, j)) * inv_t - r.max - r.log_sum; };
    double h = 0;
    for (int64_t j = 0; j < c; ++j) h -= exp(logp(j)) * logp(j);
    a.rows[i] = static_cast<float>(h);
    if (a.dx.data == nullptr) continue;
    for (int64_t j = 0; j < c; ++j) {
      a.dx(i, j) = static_cast<float>(-exp(logp(j)) * (logp(j) + h) * scale);
    }
  }
}

__global__ void mse_kernel(MseArgs<float> a) {
  const int64_t n = a.a.rows, f = a.a.cols;
  const double divisor = double(n) * double(f), scale = divisor > 0 ? 2.0 / divisor : 0.0;
  GKD_GRID_STRIDE(i, n) {
    double row = 0;
    for (int64_t j = 0; j < f; ++j) {
      const double d = double(a.a(i, j)) - double(a.b(i, j));
      row += d * d;
      if (a.da.data) a.da(i, j) = static_cast<float>(scale * d);
    }
    a.rows[i] = static_cast<float>(row);
  }
}

__global__ void scaled_add_kernel(ScaledAddArgs<float> a) {
  const double s = double(a.factor) * double(a.scale[0]);
  GKD_GRID_STRIDE(k, a.y.rows * a.y.cols) {
    const int64_t i = k / a.y.cols, j = k % a.y.cols;
    a.y(i, j) = static_cast<float>(a.y(i, j) + s * double(a.x(i, j)));
  }
}

// The three launches of a masked row loss; `rows_kernel` launches step 2.
template <class Launch>
void row_loss(const char* name, const uint8_t* mask, int64_t n, const float* rows, float* loss,
              double per_row, Stream stream, Launch rows_kernel) {
  if (mask != nullptr) count_kernel<<<1, kBlock, 0, raw(stream)>>>(mask, n, loss);
  if (n > 0) rows_kernel(grid_for(n, kBlock));
  mean_kernel<<<1, kBlock, 0, raw(stream)>>>(rows, n, mask != nullptr, per_row, loss);
  check_launch(name);
}

}  // namespace

void cross_entropy(const CrossEntropyArgs<float>& a, Stream stream) {
  row_loss("cross_entropy", a.mask, a.logits.rows, a.rows, a.loss, 1.0, stream,
           [&](unsigned g) { cross_entropy_kernel<<<g, kBlock, 0, raw(stream)>>>(a); });
}

void bce_with_logits(const BceWithLogitsArgs<float>& a, Stream stream) {
  row_loss("bce_with_logits", a.mask, a.logits.rows, a.rows, a.loss, double(a.logits.cols), stream,
           [&](unsigned g) { bce_kernel<<<g, kBlock, 0, raw(stream)>>>(a); });
}

void kl_div(const KlDivArgs<float>& a, Stream stream) {
  row_loss("kl_div", a.mask, a.student.rows, a.rows, a.loss, 1.0, stream,
           [&](unsigned g) { kl_div_kernel<<<g, kBlock, 0, raw(stream)>>>(a); });
}

void softmax_entropy(const SoftmaxEntropyArgs<float>& a, Stream stream) {
  row_loss("softmax_entropy", a.mask, a.x.rows, a.rows, a.loss, 1.0, stream,
           [&](unsigned g) { softmax_entropy_kernel<<<g, kBlock, 0, raw(stream)>>>(a); });
}

void mse(const MseArgs<float>& a, Stream stream) {
  row_loss("mse", nullptr, a.a.rows, a.rows, a.loss, double(a.a.cols), stream,
           [&](unsigned g) { mse_kernel<<<g, kBlock, 0, raw(stream)>>>(a); });
}

void scaled_add(const ScaledAddArgs<float>& a, Stream stream) {
  const int64_t n = a.y.rows * a.y.cols;
  if (n == 0) return;
  scaled_add_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("scaled_add");
}

}  // namespace gkd::kernels::cuda
