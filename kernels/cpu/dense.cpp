// CPU twins of the dense elementwise kernels. Row-parallel; every element is computed
// independently, so results do not depend on the thread count.
#include "kernels/registry.h"

namespace gkd::kernels::cpu {

template <class T>
void axpby(const AxpbyArgs<T>& a) {
#pragma omp parallel for schedule(static) if (a.y.rows * a.y.cols > (1 << 16))
  for (int64_t i = 0; i < a.y.rows; ++i) {
    for (int64_t j = 0; j < a.y.cols; ++j) {
      const T scaled = a.alpha * a.x(i, j);
      a.y(i, j) = a.beta == T(0) ? scaled : scaled + a.beta * a.y(i, j);
    }
  }
}

template void axpby<float>(const AxpbyArgs<float>&);
template void axpby<double>(const AxpbyArgs<double>&);

}  // namespace gkd::kernels::cpu
