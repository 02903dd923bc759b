// CPU twins of the memory kernels.
#include "kernels/registry.h"

namespace gkd::kernels::cpu {

template <class T>
void fill(const FillArgs<T>& a) {
#pragma omp parallel for schedule(static) if (a.y.rows * a.y.cols > (1 << 16))
  for (int64_t i = 0; i < a.y.rows; ++i)
    for (int64_t j = 0; j < a.y.cols; ++j) a.y(i, j) = a.value;
}

template void fill<float>(const FillArgs<float>&);
template void fill<double>(const FillArgs<double>&);

}  // namespace gkd::kernels::cpu
