// CPU twins of edge softmax and edge KL: one destination row per task (row-parallel, no shared
// writes), row sums in double in CSR order, so results are deterministic at any thread count.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

template <class T>
void write(T& out, double value, bool accumulate) {
  out = static_cast<T>(accumulate ? out + value : value);
}

}  // namespace

template <class T>
void edge_softmax(const EdgeSoftmaxArgs<T>& a) {
  const int64_t heads = a.z.cols;
#pragma omp parallel
  {
    std::vector<double> max(heads), sum(heads);
#pragma omp for schedule(dynamic, 64)
    for (int64_t v = 0; v < a.a.rows; ++v) {
      const int64_t begin = a.a.indptr[v], end = a.a.indptr[v + 1];
      if (begin == end) continue;
      std::fill(max.begin(), max.end(), -std::numeric_limits<double>::infinity());
      std::fill(sum.begin(), sum.end(), 0.0);
      // Online max and exp-sum in one sweep: the sum is rescaled whenever the max grows.
      for (int64_t p = begin; p < end; ++p)
        for (int64_t h = 0; h < heads; ++h) {
          const double z = a.z(edge_id(a.a, p), h);
          if (z > max[h]) {
            sum[h] = sum[h] * std::exp(max[h] - z) + 1.0;
            max[h] = z;
          } else {
            sum[h] += std::exp(z - max[h]);
          }
        }
      // Each element is read before it is written, so p may alias z.
      for (int64_t p = begin; p < end; ++p) {
        const int64_t e = edge_id(a.a, p);
        for (int64_t h = 0; h < heads; ++h) {
          const double shifted = a.z(e, h) - max[h];
          a.p(e, h) =
              static_cast<T>(a.log ? shifted - std::log(sum[h]) : std::exp(shifted) / sum[h]);
        }
      }
    }
  }
}

template <class T>
void edge_softmax_backward(const EdgeSoftmaxBackwardArgs<T>& a) {
  const int64_t heads = a.y.cols;
#pragma omp parallel
  {
    std::vector<double> dot(heads);
#pragma omp for schedule(dynamic, 64)
    for (int64_t v = 0; v < a.a.rows; ++v) {
      const int64_t begin = a.a.indptr[v], end = a.a.indptr[v + 1];
      // softmax: Σ p dp; log-softmax: Σ dlp.
      std::fill(dot.begin(), dot.end(), 0.0);
      for (int64_t p = begin; p < end; ++p) {
        const int64_t e = edge_id(a.a, p);
        for (int64_t h = 0; h < heads; ++h) dot[h] += a.log ? a.dy(e, h) : a.y(e, h) * a.dy(e, h);
      }
      for (int64_t p = begin; p < end; ++p) {
        const int64_t e = edge_id(a.a, p);
        for (int64_t h = 0; h < heads; ++h) {
          const double y = a.y(e, h), dy = a.dy(e, h);
          write(a.dz(e, h), a.log ? dy - std::exp(y) * dot[h] : y * (dy - dot[h]), a.accumulate);
        }
      }
    }
  }
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
          const double lp = a.lp(e, h), pe = std::exp(lp);
          if (pe != 0) acc[h] += pe * (lp - a.lq(e, h));
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
        const double lp = a.lp(e, h), pe = std::exp(lp), g = a.dkl(v, h);
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
