#include "engine/ops_dense.h"

#include "engine/dispatch.h"
#include "kernels/registry.h"

namespace gkd::ops {

using namespace detail;

void axpby(const Context& ctx, double alpha, const Tensor& x, double beta, Tensor& y) {
  check_on(ctx, "axpby", "x", x);
  check_on(ctx, "axpby", "y", y);
  check_dtype("axpby", "y", y, x.dtype());
  check_shape("axpby", "y", y, x.rows(), x.cols());
  dispatch_float(ctx, "axpby", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::AxpbyArgs<T> a{x.cview<T>(), y.view<T>(), static_cast<T>(alpha), static_cast<T>(beta)};
    launch(ctx, a, kernels::cpu::axpby<T>, kernels::cuda::axpby);
  });
}

}  // namespace gkd::ops
