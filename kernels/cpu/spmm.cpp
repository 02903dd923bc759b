// CPU twin of SpMM: one output row at a time (row-parallel, no shared writes), edges summed in CSR
// order in double, so the result is deterministic at any thread count.
//
// Columns are processed in blocks of kBlock: a block's accumulators stay in registers across the
// row's edges (a whole-row accumulator in memory makes every edge wait on a store-to-load round
// trip). Each output element still sums its edges in CSR order, so blocking changes no bit.
#include <algorithm>

#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

constexpr int64_t kBlock = 16;

// Σ_{p in [begin, end)} w_p x[col(p), j0 + j] for j < n (n <= kBlock), scaled, into y[j0 ..).
template <class T, int64_t N>
void row_block(const SpmmArgs<T>& a, int64_t begin, int64_t end, int64_t h, int64_t j0, int64_t n,
               double scale, T* y) {
  double acc[N] = {};
  for (int64_t p = begin; p < end; ++p) {
    const double w = a.edge_w ? static_cast<double>(a.edge_w[edge_id(a.a, p) * a.heads + h]) : 1.0;
    const T* x = a.x.data + a.a.indices[p] * a.x.ld + j0;
    if constexpr (N == kBlock) {
      for (int64_t j = 0; j < N; ++j) acc[j] += w * static_cast<double>(x[j]);
    } else {
      for (int64_t j = 0; j < n; ++j) acc[j] += w * static_cast<double>(x[j]);
    }
  }
  if (a.accumulate) {
    for (int64_t j = 0; j < n; ++j) y[j0 + j] += static_cast<T>(acc[j] * scale);
  } else {
    for (int64_t j = 0; j < n; ++j) y[j0 + j] = static_cast<T>(acc[j] * scale);
  }
}

}  // namespace

template <class T>
void spmm(const SpmmArgs<T>& a) {
  const int64_t width = a.y.cols, f = width / a.heads;
#pragma omp parallel for schedule(dynamic, 64) if (a.a.nnz * width > (1 << 16))
  for (int64_t v = 0; v < a.a.rows; ++v) {
    const int64_t begin = a.a.indptr[v], end = a.a.indptr[v + 1];
    const double scale = a.mean && end > begin ? 1.0 / static_cast<double>(end - begin) : 1.0;
    T* y = a.y.data + v * a.y.ld;  // [H*F]
    for (int64_t h = 0; h < a.heads; ++h) {
      for (int64_t j0 = h * f; j0 < (h + 1) * f; j0 += kBlock) {
        const int64_t n = std::min(kBlock, (h + 1) * f - j0);
        if (n == kBlock) {
          row_block<T, kBlock>(a, begin, end, h, j0, n, scale, y);
        } else {
          row_block<T, kBlock - 1>(a, begin, end, h, j0, n, scale, y);
        }
      }
    }
  }
}

template void spmm<float>(const SpmmArgs<float>&);
template void spmm<double>(const SpmmArgs<double>&);

}  // namespace gkd::kernels::cpu
