// CPU twin of the SDDMM edge kernels: row-parallel over destinations, each edge's reduction over
// the feature dimension accumulated in double in index order.
#include <cmath>

#include "kernels/registry.h"

namespace gkd::kernels::cpu {

template <class T>
void sddmm(const SddmmArgs<T>& a) {
  const int64_t f = a.u.cols / a.heads;
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t dst = 0; dst < a.a.rows; ++dst) {
    for (int64_t e = a.a.indptr[dst]; e < a.a.indptr[dst + 1]; ++e) {
      const int64_t src = a.a.indices[e];
      for (int64_t h = 0; h < a.heads; ++h) {
        double acc = 0;
        for (int64_t j = h * f; j < (h + 1) * f; ++j) {
          const double x = a.u(src, j), y = a.v(dst, j);
          switch (a.op) {
            case SddmmOp::kDot: acc += x * y; break;
            case SddmmOp::kL1: acc += std::abs(x - y); break;
            case SddmmOp::kSquaredL2: acc += (x - y) * (x - y); break;
          }
        }
        a.out(e, h) = static_cast<T>(a.accumulate ? a.out(e, h) + acc : acc);
      }
    }
  }
}

template void sddmm<float>(const SddmmArgs<float>&);
template void sddmm<double>(const SddmmArgs<double>&);

}  // namespace gkd::kernels::cpu
