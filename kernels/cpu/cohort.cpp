// CPU twin of the fused cohort class KL (kernels/cohort.h): rows in parallel, every student's
// softmax of a row computed once, sums in double, O(K·C) work per row.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/registry.h"

namespace gkd::kernels::cpu {

template <class T>
void cohort_kl(const CohortKlArgs<T>& a) {
  const int64_t k_count = a.students, n = a.kl.cols, c = a.probs.cols;
  const double t = a.temperature;
#pragma omp parallel
  {
    // Per row: log q_k and q_k of every student, Σ_c q_k log q_k, and the peer sum Σ_k q_k. Then
    // kl[m] = Σ_{p≠m} Σ_c q_p log q_p − Σ_c (Σ_{p≠m} q_p) log q_m: O(K·C) per row, one exp per
    // (k, c).
    std::vector<double> logq(static_cast<size_t>(k_count * c)), q(logq.size());
    std::vector<double> neg_entropy(static_cast<size_t>(k_count)), q_sum(static_cast<size_t>(c));
#pragma omp for schedule(static)
    for (int64_t v = 0; v < n; ++v) {
      double neg_entropy_sum = 0;
      std::fill(q_sum.begin(), q_sum.end(), 0.0);
      for (int64_t k = 0; k < k_count; ++k) {
        const ConstMatView<T>& z = a.logits[k];
        double* lq = logq.data() + k * c;
        double* qk = q.data() + k * c;
        double m = double(z(v, 0)) / t;
        for (int64_t j = 1; j < c; ++j) m = std::max(m, double(z(v, j)) / t);
        double sum = 0;
        for (int64_t j = 0; j < c; ++j) {
          lq[j] = double(z(v, j)) / t - m;
          qk[j] = std::exp(lq[j]);
          sum += qk[j];
        }
        const double log_sum = std::log(sum);
        double h = 0;
        for (int64_t j = 0; j < c; ++j) {
          lq[j] -= log_sum;
          qk[j] /= sum;
          a.probs(k * n + v, j) = T(qk[j]);
          h += qk[j] * lq[j];
          q_sum[j] += qk[j];
        }
        neg_entropy[k] = h;
        neg_entropy_sum += h;
      }
      for (int64_t m = 0; m < k_count; ++m) {
        double cross = 0;  // Σ_c (Σ_{p≠m} q_p) log q_m
        for (int64_t j = 0; j < c; ++j) cross += (q_sum[j] - q[m * c + j]) * logq[m * c + j];
        const double kl = neg_entropy_sum - neg_entropy[m] - cross;
        a.kl(m, v) = T(k_count > 1 ? t * t * kl / double(k_count - 1) : 0.0);
      }
    }
  }
}

template <class T>
void cohort_kl_backward(const CohortKlBackwardArgs<T>& a) {
  const int64_t k_count = a.students, n = a.dkl.cols, c = a.probs.cols;
  if (k_count < 2) return;
  const double t = a.temperature;
#pragma omp parallel
  {
    std::vector<double> q_sum(static_cast<size_t>(c));  // Σ_k q_k(v, :)
#pragma omp for schedule(static)
    for (int64_t v = 0; v < n; ++v) {
      std::fill(q_sum.begin(), q_sum.end(), 0.0);
      for (int64_t k = 0; k < k_count; ++k) {
        for (int64_t j = 0; j < c; ++j) q_sum[j] += double(a.probs(k * n + v, j));
      }
      for (int64_t m = 0; m < k_count; ++m) {
        const MatView<T>& dz = a.dlogits[m];
        if (dz.data == nullptr) continue;
        const double g = double(a.dkl(m, v)) * t;
        for (int64_t j = 0; j < c; ++j) {
          const double own = double(a.probs(m * n + v, j));
          const double mean_peer = (q_sum[j] - own) / double(k_count - 1);
          dz(v, j) = T(double(dz(v, j)) + g * (own - mean_peer));
        }
      }
    }
  }
}

#define GKD_INSTANTIATE(name, Args)              \
  template void name<float>(const Args<float>&); \
  template void name<double>(const Args<double>&);
GKD_INSTANTIATE(cohort_kl, CohortKlArgs)
GKD_INSTANTIATE(cohort_kl_backward, CohortKlBackwardArgs)
#undef GKD_INSTANTIATE

}  // namespace gkd::kernels::cpu
