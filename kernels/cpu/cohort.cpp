// CPU twin of the fused cohort class KL (kernels/cohort.h): rows in parallel, every student's
// softmax of a row computed once, sums in double.
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
    std::vector<double> logq(static_cast<size_t>(k_count * c));  // log q_k(v, :) for every k
#pragma omp for schedule(static)
    for (int64_t v = 0; v < n; ++v) {
      for (int64_t k = 0; k < k_count; ++k) {
        const ConstMatView<T>& z = a.logits[k];
        double m = double(z(v, 0)) / t;
        for (int64_t j = 1; j < c; ++j) m = std::max(m, double(z(v, j)) / t);
        double sum = 0;
        for (int64_t j = 0; j < c; ++j) sum += std::exp(double(z(v, j)) / t - m);
        const double log_sum = m + std::log(sum);
        for (int64_t j = 0; j < c; ++j) {
          logq[k * c + j] = double(z(v, j)) / t - log_sum;
          a.probs(k * n + v, j) = T(std::exp(logq[k * c + j]));
        }
      }
      for (int64_t m = 0; m < k_count; ++m) {
        double kl = 0;
        for (int64_t p = 0; p < k_count; ++p) {
          if (p == m) continue;
          for (int64_t j = 0; j < c; ++j) {
            kl += std::exp(logq[p * c + j]) * (logq[p * c + j] - logq[m * c + j]);
          }
        }
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
#pragma omp parallel for schedule(static)
  for (int64_t v = 0; v < n; ++v) {
    for (int64_t m = 0; m < k_count; ++m) {
      const MatView<T>& dz = a.dlogits[m];
      if (dz.data == nullptr) continue;
      const double g = double(a.dkl(m, v)) * t;
      for (int64_t j = 0; j < c; ++j) {
        double peers = 0;
        for (int64_t p = 0; p < k_count; ++p) {
          if (p != m) peers += a.probs(p * n + v, j);
        }
        const double mean_peer = peers / double(k_count - 1);
        dz(v, j) = T(double(dz(v, j)) + g * (double(a.probs(m * n + v, j)) - mean_peer));
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
