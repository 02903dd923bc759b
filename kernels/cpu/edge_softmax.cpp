// CPU twins of edge softmax and edge KL: one destination row per task (row-parallel, no shared
// writes), row sums in double in CSR order, so results are deterministic at any thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/simd_math.h"
#include "kernels/cpu/static_width.h"
#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

template <class T>
void write(T& out, double value, bool accumulate) {
  out = static_cast<T>(accumulate ? out + value : value);
}

}  // namespace

// Per row: the logits are gathered into contiguous [deg, H] buffers, so the max, exp and sum loops
// vectorise (over heads, or over edges with one head); then p = e^(z - max) / sum.
template <class T>
void edge_softmax(const EdgeSoftmaxArgs<T>& a) {
  with_static_width<1, 8>(a.z.cols, [&](auto width) {
    constexpr int64_t kHeads = decltype(width)::value;
    const int64_t heads = static_or<kHeads>(a.z.cols);
#pragma omp parallel
    {
      std::vector<double> z, ez;
      // Per-head row statistics, in registers when the head count is static.
      PerHead<kHeads> max(heads), sum(heads), log_sum(heads);
#pragma omp for schedule(dynamic, 64)
      for (int64_t v = 0; v < a.a.rows; ++v) {
        const int64_t begin = a.a.indptr[v], deg = a.a.indptr[v + 1] - begin;
        if (deg == 0) continue;
        // Grow only: a resize up value-initialises, which row after row costs a fill.
        if (z.size() < static_cast<size_t>(deg * heads)) {
          z.resize(static_cast<size_t>(deg * heads));
          ez.resize(z.size());
        }
        for (int64_t i = 0; i < deg; ++i) {
          const T* zi = &a.z(edge_id(a.a, begin + i), 0);
          for (int64_t h = 0; h < heads; ++h) z[i * heads + h] = zi[h];
        }
        std::fill(max.begin(), max.end(), -std::numeric_limits<double>::infinity());
        for (int64_t i = 0; i < deg; ++i)
          for (int64_t h = 0; h < heads; ++h) max[h] = std::max(max[h], z[i * heads + h]);
        if (heads == 1) {
          for (int64_t i = 0; i < deg; ++i) ez[i] = exp_vec<T>(z[i] - max[0]);
        } else {
          for (int64_t i = 0; i < deg; ++i)
            for (int64_t h = 0; h < heads; ++h)
              ez[i * heads + h] = exp_vec<T>(z[i * heads + h] - max[h]);
        }
        // In CSR order, so the sum does not depend on how the loops above were vectorised.
        std::fill(sum.begin(), sum.end(), 0.0);
        for (int64_t i = 0; i < deg; ++i)
          for (int64_t h = 0; h < heads; ++h) sum[h] += ez[i * heads + h];
        if (a.log) {
          for (int64_t h = 0; h < heads; ++h) log_sum[h] = std::log(sum[h]);
        }
        // Every read of z is done, so p may alias it.
        for (int64_t i = 0; i < deg; ++i) {
          T* p = &a.p(edge_id(a.a, begin + i), 0);
          const double* zi = &z[i * heads];
          const double* ei = &ez[i * heads];
          if (a.log) {
            for (int64_t h = 0; h < heads; ++h) p[h] = static_cast<T>(zi[h] - max[h] - log_sum[h]);
          } else {
            for (int64_t h = 0; h < heads; ++h) p[h] = static_cast<T>(ei[h] / sum[h]);
          }
        }
      }
    }
  });
}

template <class T>
void edge_softmax_backward(const EdgeSoftmaxBackwardArgs<T>& a) {
  with_static_width<1, 8>(a.y.cols, [&](auto width) {
    constexpr int64_t kHeads = decltype(width)::value;
    const int64_t heads = static_or<kHeads>(a.y.cols);
#pragma omp parallel
    {
      PerHead<kHeads> dot(heads);
#pragma omp for schedule(dynamic, 64)
      for (int64_t v = 0; v < a.a.rows; ++v) {
        const int64_t begin = a.a.indptr[v], end = a.a.indptr[v + 1];
        // softmax: Σ p dp; log-softmax: Σ dlp.
        std::fill(dot.begin(), dot.end(), 0.0);
        for (int64_t p = begin; p < end; ++p) {
          const int64_t e = edge_id(a.a, p);
          const T *y = &a.y(e, 0), *dy = &a.dy(e, 0);
          if (a.log) {
            for (int64_t h = 0; h < heads; ++h) dot[h] += dy[h];
          } else {
            for (int64_t h = 0; h < heads; ++h) dot[h] += double(y[h]) * dy[h];
          }
        }
        for (int64_t p = begin; p < end; ++p) {
          const int64_t e = edge_id(a.a, p);
          const T *y = &a.y(e, 0), *dy = &a.dy(e, 0);
          T* dz = &a.dz(e, 0);
          for (int64_t h = 0; h < heads; ++h) {
            const double g = a.log ? dy[h] - exp_vec<T>(y[h]) * dot[h] : y[h] * (dy[h] - dot[h]);
            write(dz[h], g, a.accumulate);
          }
        }
      }
    }
  });
}

template <class T>
void edge_kl(const EdgeKlArgs<T>& a) {
  const int64_t heads = a.kl.cols;
#pragma omp parallel
  {
    std::vector<double> acc(heads);
#pragma omp for schedule(dynamic, 64)
    for (int64_t v = 0; v < a.a.rows; ++v) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t p = a.a.indptr[v]; p < a.a.indptr[v + 1]; ++p) {
        const int64_t e = edge_id(a.a, p);
        for (int64_t h = 0; h < heads; ++h) {
          const double lp = a.lp(e, h), pe = exp_vec<T>(lp);
          acc[h] += pe != 0 ? pe * (lp - a.lq(e, h)) : 0.0;  // 0 log 0 = 0
        }
      }
      for (int64_t h = 0; h < heads; ++h) write(a.kl(v, h), acc[h], a.accumulate);
    }
  }
}

template <class T>
void edge_kl_backward(const EdgeKlBackwardArgs<T>& a) {
  const int64_t heads = a.lp.cols;
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t v = 0; v < a.a.rows; ++v) {
    for (int64_t p = a.a.indptr[v]; p < a.a.indptr[v + 1]; ++p) {
      const int64_t e = edge_id(a.a, p);
      for (int64_t h = 0; h < heads; ++h) {
        const double lp = a.lp(e, h), pe = exp_vec<T>(lp), g = a.dkl(v, h);
        if (a.dlp.data) {
          write(a.dlp(e, h), pe != 0 ? g * pe * (lp - a.lq(e, h) + 1.0) : 0.0, a.accumulate);
        }
        if (a.dlq.data) write(a.dlq(e, h), -g * pe, a.accumulate);
      }
    }
  }
}

#define GKD_INSTANTIATE(name, Args)              \
  template void name<float>(const Args<float>&); \
  template void name<double>(const Args<double>&);
GKD_INSTANTIATE(edge_softmax, EdgeSoftmaxArgs)
GKD_INSTANTIATE(edge_softmax_backward, EdgeSoftmaxBackwardArgs)
GKD_INSTANTIATE(edge_kl, EdgeKlArgs)
GKD_INSTANTIATE(edge_kl_backward, EdgeKlBackwardArgs)
#undef GKD_INSTANTIATE

}  // namespace gkd::kernels::cpu
