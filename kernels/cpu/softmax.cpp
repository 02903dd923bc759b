// CPU twins of row softmax / log-softmax and their backward passes: one row per iteration
// (row-parallel, no shared writes), max and sums in double, each row left to right.
#include <cmath>
#include <limits>

#include "kernels/registry.h"

namespace gkd::kernels::cpu {

template <class T>
void softmax_rows(const SoftmaxArgs<T>& a) {
  const int64_t rows = a.x.rows, cols = a.x.cols;
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 14))
  for (int64_t i = 0; i < rows; ++i) {
    const T* x = a.x.data + i * a.x.ld;  // [C]
    T* y = a.y.data + i * a.y.ld;        // [C], may be x
    double max = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < cols; ++j) max = std::max(max, static_cast<double>(x[j]));
    double sum = 0;
    if (a.log) {
      for (int64_t j = 0; j < cols; ++j) sum += std::exp(static_cast<double>(x[j]) - max);
      const double shift = max + std::log(sum);
      for (int64_t j = 0; j < cols; ++j) y[j] = static_cast<T>(static_cast<double>(x[j]) - shift);
    } else {
      // y holds exp(x - max) until the row sum is known; each x[j] is read before y[j] is written.
      for (int64_t j = 0; j < cols; ++j) {
        const double e = std::exp(static_cast<double>(x[j]) - max);
        sum += e;
        y[j] = static_cast<T>(e);
      }
      const double inv = 1.0 / sum;
      for (int64_t j = 0; j < cols; ++j) y[j] = static_cast<T>(static_cast<double>(y[j]) * inv);
    }
  }
}

template <class T>
void softmax_rows_backward(const SoftmaxBackwardArgs<T>& a) {
  const int64_t rows = a.y.rows, cols = a.y.cols;
#pragma omp parallel for schedule(static) if (rows * cols > (1 << 14))
  for (int64_t i = 0; i < rows; ++i) {
    const T* y = a.y.data + i * a.y.ld;     // [C]
    const T* dy = a.dy.data + i * a.dy.ld;  // [C]
    T* dx = a.dx.data + i * a.dx.ld;        // [C], may be dy
    double dot = 0;                         // softmax: Σ dy y ; log-softmax: Σ dy
    for (int64_t j = 0; j < cols; ++j)
      dot += a.log ? static_cast<double>(dy[j]) : static_cast<double>(dy[j]) * y[j];
    for (int64_t j = 0; j < cols; ++j) {
      const double g = a.log ? dy[j] - std::exp(static_cast<double>(y[j])) * dot
                             : static_cast<double>(y[j]) * (dy[j] - dot);
      dx[j] = a.accumulate ? static_cast<T>(dx[j] + g) : static_cast<T>(g);
    }
  }
}

template void softmax_rows<float>(const SoftmaxArgs<float>&);
template void softmax_rows<double>(const SoftmaxArgs<double>&);
template void softmax_rows_backward<float>(const SoftmaxBackwardArgs<float>&);
template void softmax_rows_backward<double>(const SoftmaxBackwardArgs<double>&);

}  // namespace gkd::kernels::cpu
