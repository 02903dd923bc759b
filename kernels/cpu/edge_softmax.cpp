// CPU twins of edge softmax and edge KL: destination rows (or blocks of them) are tasks (no shared
// writes), row sums in double in CSR order, so results are deterministic at any thread count.
// exp is evaluated in the element type's arithmetic (kernels/cpu/simd_math.h).
#include <algorithm>
#include <cmath>
#include <cstdint>
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

// Rows in blocks of kBlockRows. Per row, the block's logits are copied into one contiguous
// [edges, H] buffer and their max taken; the shift by the max and the exp then run as flat loops
// over the block's edges (each edge knows its row), and per row the sum in double in CSR order;
// last, flat again, p = e^(z - max) / sum (or log p = z - max - log sum). Rows of a few edges made
// each loop over a row's edges end in a mispredicted branch, and exponentiated row by row they
// left most of the exp to scalar remainders: only the max and the sum, which run along a row,
// still loop per row.
template <class T>
void edge_softmax(const EdgeSoftmaxArgs<T>& a) {
  constexpr int64_t kBlockRows = 64;
  const CsrView& csr = a.a;
  const int64_t blocks = (csr.rows + kBlockRows - 1) / kBlockRows;
  const bool log = a.log;
  with_static_width<1, 8>(a.z.cols, [&](auto width) {
    constexpr int64_t kHeads = decltype(width)::value;
#pragma omp parallel
    {
      // In the region: kernels/cpu/static_width.h.
      const int64_t heads = static_or<kHeads>(a.z.cols);
      std::vector<T> shifted, ez;          // [block edges, H]
      std::vector<int32_t> row_of;         // [block edges]: the edge's row, from the block's first
      std::vector<double> row_max, scale;  // [block rows, H]; scale: 1 / sum, or log sum with `log`
#pragma omp for schedule(dynamic, 1)
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t first = b * kBlockRows, last = std::min(csr.rows, first + kBlockRows);
        const int64_t base = csr.indptr[first], edges = csr.indptr[last] - base;
        const int64_t n = edges * heads;
        // Grow only: a resize up value-initialises, which block after block costs a fill.
        if (shifted.size() < static_cast<size_t>(n)) {
          shifted.resize(static_cast<size_t>(n));
          ez.resize(static_cast<size_t>(n));
          row_of.resize(static_cast<size_t>(edges));
        }
        row_max.resize(static_cast<size_t>((last - first) * heads));
        scale.resize(static_cast<size_t>((last - first) * heads));
        T* s = shifted.data();
        T* e = ez.data();
        for (int64_t v = first; v < last; ++v) {
          PerHead<kHeads> m(heads);  // in registers across the row's edges
          std::fill(m.begin(), m.end(), -std::numeric_limits<double>::infinity());
          for (int64_t p = csr.indptr[v]; p < csr.indptr[v + 1]; ++p) {
            const T* z = &a.z(edge_id(csr, p), 0);
            T* sp = s + (p - base) * heads;
            for (int64_t h = 0; h < heads; ++h) {
              sp[h] = z[h];
              // std::max's select, as a blend: GCC made it a branch, mispredicted on real logits.
              m[h] = branchless_select(m[h] < double(z[h]), double(z[h]), m[h]);
            }
            row_of[p - base] = static_cast<int32_t>(v - first);
          }
          std::copy(m.begin(), m.end(), row_max.begin() + (v - first) * heads);
        }
        for (int64_t k = 0; k < edges; ++k) {
          const double* m = &row_max[row_of[k] * heads];
          for (int64_t h = 0; h < heads; ++h) s[k * heads + h] = T(s[k * heads + h] - m[h]);
        }
        for (int64_t k = 0; k < n; ++k) e[k] = exp_vec(s[k]);
        for (int64_t v = first; v < last; ++v) {
          PerHead<kHeads> sum(heads);
          for (int64_t p = csr.indptr[v]; p < csr.indptr[v + 1]; ++p)
            for (int64_t h = 0; h < heads; ++h) sum[h] += e[(p - base) * heads + h];
          std::copy(sum.begin(), sum.end(), scale.begin() + (v - first) * heads);
        }
        // Once per row and head: a double division per element cost more than the exp.
        if (log) {
          for (double& c : scale) c = std::log(c);
        } else {
          for (double& c : scale) c = 1.0 / c;
        }
        // Every read of z is done, so p may alias it.
        const auto emit = [&](const T* from, auto op) {
          for (int64_t k = 0; k < edges; ++k) {
            const double* c = &scale[row_of[k] * heads];
            T* out = &a.p(edge_id(csr, base + k), 0);
            for (int64_t h = 0; h < heads; ++h) out[h] = T(op(double(from[k * heads + h]), c[h]));
          }
        };
        if (log) {
          emit(s, [](double x, double c) { return x - c; });
        } else {
          emit(e, [](double x, double c) { return x * c; });
        }
      }
    }
  });
}

// Per row: the dot in double over the row's edges, then dz from it, with the flags read once and
// one loop per form.
template <class T>
void edge_softmax_backward(const EdgeSoftmaxBackwardArgs<T>& a) {
  const CsrView& csr = a.a;
  const bool log = a.log, accumulate = a.accumulate;
  with_static_width<1, 8>(a.y.cols, [&](auto width) {
    constexpr int64_t kHeads = decltype(width)::value;
#pragma omp parallel
    {
      // In the region: kernels/cpu/static_width.h.
      const int64_t heads = static_or<kHeads>(a.y.cols);
      PerHead<kHeads> dot(heads);
#pragma omp for schedule(dynamic, 64)
      for (int64_t v = 0; v < csr.rows; ++v) {
        const int64_t begin = csr.indptr[v], end = csr.indptr[v + 1];
        // softmax: Σ p dp; log-softmax: Σ dlp.
        std::fill(dot.begin(), dot.end(), 0.0);
        for (int64_t p = begin; p < end; ++p) {
          const int64_t e = edge_id(csr, p);
          const T *y = &a.y(e, 0), *dy = &a.dy(e, 0);
          if (log) {
            for (int64_t h = 0; h < heads; ++h) dot[h] += dy[h];
          } else {
            for (int64_t h = 0; h < heads; ++h) dot[h] += double(y[h]) * dy[h];
          }
        }
        for (int64_t p = begin; p < end; ++p) {
          const int64_t e = edge_id(csr, p);
          const T *y = &a.y(e, 0), *dy = &a.dy(e, 0);
          T* dz = &a.dz(e, 0);
          if (log) {
            for (int64_t h = 0; h < heads; ++h) {
              const double g = dy[h] - double(exp_vec(y[h])) * dot[h];
              dz[h] = T(accumulate ? dz[h] + g : g);
            }
          } else {
            for (int64_t h = 0; h < heads; ++h) {
              const double g = y[h] * (dy[h] - dot[h]);
              dz[h] = T(accumulate ? dz[h] + g : g);
            }
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
          const double lp = a.lp(e, h), pe = exp_vec(a.lp(e, h));  // exp in T
          acc[h] += pe != 0 ? pe * (lp - a.lq(e, h)) : 0.0;        // 0 log 0 = 0
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
        const double lp = a.lp(e, h), pe = exp_vec(a.lp(e, h)), g = a.dkl(v, h);
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
