// Tensor-level dense ops: validate once, then run the CPU or CUDA twin of a kernel.
#pragma once

#include "engine/context.h"
#include "engine/tensor.h"

namespace gkd::ops {

// y = alpha * x + beta * y; x and y have the same shape and floating dtype.
void axpby(const Context& ctx, double alpha, const Tensor& x, double beta, Tensor& y);
inline void axpy(const Context& ctx, double alpha, const Tensor& x, Tensor& y) {
  axpby(ctx, alpha, x, 1.0, y);
}

}  // namespace gkd::ops
