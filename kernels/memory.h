// fill: y[i, j] = value. (Copies and zeroing are byte operations done by the device seam.)
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

template <class T>
struct FillArgs {
  MatView<T> y;  // [rows, cols] on the target device, overwritten
  T value;
};

}  // namespace gkd::kernels
