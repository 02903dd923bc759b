// CUDA twin of the fused cohort class KL (kernels/cohort.h). The K students' views travel as a
// kernel-argument table (at most kMaxStudents). Forward: one thread per row keeps every student's
// log-softmax statistics (max, log-sum) in registers or local memory and recomputes log q in
// double, so the KL terms are computed as on the CPU, O(K·C) exps per row plus the peer sums.
// Backward: one thread per (row, class) forms Σ_k q_k from the forward's probabilities and
// updates every student's gradient there (each element has one writer).
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/registry.h"

namespace gkd::kernels::cuda {
namespace {

constexpr int kMaxStudents = 32;
struct LogitTable {
  ConstMatView<float> z[kMaxStudents];
};
struct GradTable {
  MatView<float> dz[kMaxStudents];
};

__global__ void cohort_kl_kernel(CohortKlArgs<float> a, LogitTable table) {
  const int64_t k_count = a.students, n = a.kl.cols, c = a.probs.cols;
  const double t = a.temperature;
  GKD_GRID_STRIDE(v, n) {
    double max[kMaxStudents], log_sum[kMaxStudents], neg_entropy[kMaxStudents];
    double neg_entropy_sum = 0;
    for (int64_t k = 0; k < k_count; ++k) {
      const ConstMatView<float>& z = table.z[k];
      double m = double(z(v, 0)) / t;
      for (int64_t j = 1; j < c; ++j) m = fmax(m, double(z(v, j)) / t);
      double sum = 0;
      for (int64_t j = 0; j < c; ++j) sum += exp(double(z(v, j)) / t - m);
      max[k] = m;
      log_sum[k] = log(sum);
      double h = 0;
      for (int64_t j = 0; j < c; ++j) {
        const double lq = double(z(v, j)) / t - m - log_sum[k], q = exp(lq);
        a.probs(k * n + v, j) = static_cast<float>(q);
        h += q * lq;
      }
      neg_entropy[k] = h;
      neg_entropy_sum += h;
    }
    const auto logq = [&](int64_t k, int64_t j) {
      return double(table.z[k](v, j)) / t - max[k] - log_sum[k];
    };
    for (int64_t m = 0; m < k_count; ++m) {
      double cross = 0;  // Σ_c (Σ_{p≠m} q_p) log q_m
      for (int64_t j = 0; j < c; ++j) {
        double peers = 0;
        for (int64_t p = 0; p < k_count; ++p) {
          if (p != m) peers += exp(logq(p, j));
        }
        cross += peers * logq(m, j);
      }
      const double kl = neg_entropy_sum - neg_entropy[m] - cross;
      a.kl(m, v) = static_cast<float>(k_count > 1 ? t * t * kl / double(k_count - 1) : 0.0);
    }
  }
}

__global__ void cohort_kl_backward_kernel(CohortKlBackwardArgs<float> a, GradTable table) {
  const int64_t k_count = a.students, n = a.dkl.cols, c = a.probs.cols;
  const double t = a.temperature;
  GKD_GRID_STRIDE(k, n * c) {
    const int64_t v = k / c, j = k % c;
    double q_sum = 0;
    for (int64_t s = 0; s < k_count; ++s) q_sum += double(a.probs(s * n + v, j));
    for (int64_t m = 0; m < k_count; ++m) {
      const MatView<float>& dz = table.dz[m];
      if (dz.data == nullptr) continue;
      const double own = a.probs(m * n + v, j);
      const double mean_peer = (q_sum - own) / double(k_count - 1);
      dz(v, j) = static_cast<float>(double(dz(v, j)) + double(a.dkl(m, v)) * t * (own - mean_peer));
    }
  }
}

}  // namespace

void cohort_kl(const CohortKlArgs<float>& a, Stream stream) {
  check_limit("cohort_kl", "students", a.students, kMaxStudents);
  const int64_t n = a.kl.cols;
  if (n == 0 || a.students == 0) return;
  LogitTable table{};
  for (int64_t k = 0; k < a.students; ++k) table.z[k] = a.logits[k];
  cohort_kl_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a, table);
  check_launch("cohort_kl");
}

void cohort_kl_backward(const CohortKlBackwardArgs<float>& a, Stream stream) {
  check_limit("cohort_kl_backward", "students", a.students, kMaxStudents);
  const int64_t n = a.dkl.cols * a.probs.cols;
  if (n == 0 || a.students < 2) return;
  GradTable table{};
  for (int64_t k = 0; k < a.students; ++k) table.dz[k] = a.dlogits[k];
  cohort_kl_backward_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a, table);
  check_launch("cohort_kl_backward");
}

}  // namespace gkd::kernels::cuda
