// CPU twin of SpMM: one output row at a time (row-parallel, no shared writes), edges summed in CSR
// order in double, so the result is deterministic at any thread count.
#include <vector>

#include "kernels/registry.h"

namespace gkd::kernels::cpu {

template <class T>
void spmm(const SpmmArgs<T>& a) {
  const int64_t width = a.y.cols, f = width / a.heads;
#pragma omp parallel
  {
    std::vector<double> acc(width);
#pragma omp for schedule(dynamic, 64)
    for (int64_t v = 0; v < a.a.rows; ++v) {
      std::fill(acc.begin(), acc.end(), 0.0);
      const int64_t begin = a.a.indptr[v], end = a.a.indptr[v + 1];
      for (int64_t p = begin; p < end; ++p) {
        const int64_t u = a.a.indices[p], e = edge_id(a.a, p);
        for (int64_t h = 0; h < a.heads; ++h) {
          const double w = a.edge_w ? static_cast<double>(a.edge_w[e * a.heads + h]) : 1.0;
          for (int64_t j = h * f; j < (h + 1) * f; ++j) acc[j] += w * a.x(u, j);
        }
      }
      const double scale = a.mean && end > begin ? 1.0 / static_cast<double>(end - begin) : 1.0;
      for (int64_t j = 0; j < width; ++j) {
        const T out = static_cast<T>(acc[j] * scale);
        a.y(v, j) = a.accumulate ? a.y(v, j) + out : out;
      }
    }
  }
}

template void spmm<float>(const SpmmArgs<float>&);
template void spmm<double>(const SpmmArgs<double>&);

}  // namespace gkd::kernels::cpu
