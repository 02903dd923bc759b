// Dense elementwise kernels over row-major views.
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

// y = alpha * x + beta * y (beta = 0 overwrites y without reading it, so y may hold NaN).
template <class T>
struct AxpbyArgs {
  ConstMatView<T> x;  // [rows, cols]
  MatView<T> y;       // [rows, cols], updated in place
  T alpha;
  T beta;
};

}  // namespace gkd::kernels
