#include "engine/ops_norm.h"

#include "engine/dispatch.h"
#include "kernels/registry.h"

namespace gkd::ops {

using namespace detail;

namespace {

// An optional [1, F] operand of x's dtype.
void check_row(const Context& ctx, const char* op, const char* name, const Tensor& t, int64_t f,
               DType dtype) {
  if (t.defined()) check_tensor(ctx, op, name, t, 1, f, dtype);
}

template <class T>
kernels::ConstMatView<T> cview_or_null(const Tensor& t) {
  return t.defined() ? t.cview<T>() : kernels::ConstMatView<T>{};
}
template <class T>
kernels::MatView<T> view_or_null(Tensor* t) {
  return t && t->defined() ? t->view<T>() : kernels::MatView<T>{};
}

}  // namespace

Tensor batch_norm(const Context& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  Tensor& running_mean, Tensor& running_var, const BatchNormOptions& o,
                  BatchNormSaved* saved) {
  const char* op = "batch_norm";
  check_on(ctx, op, "x", x);
  const int64_t f = x.cols();
  check_row(ctx, op, "gamma", gamma, f, x.dtype());
  check_row(ctx, op, "beta", beta, f, x.dtype());
  check_row(ctx, op, "running_mean", running_mean, f, x.dtype());
  check_row(ctx, op, "running_var", running_var, f, x.dtype());
  GKD_CHECK(running_mean.defined() == running_var.defined(), "[", op,
            "] running_mean and running_var must be given together");
  GKD_CHECK(o.training || running_mean.defined(), "[", op,
            "] evaluation needs running statistics (none are tracked)");
  GKD_CHECK(!o.training || x.rows() >= 2, "[", op, "] x has ", x.rows(),
            " rows (expected >= 2 when training: the variance of one value is undefined)");
  GKD_CHECK(o.momentum >= 0 && o.momentum <= 1, "[", op, "] momentum is ", o.momentum,
            " (expected [0, 1])");
  GKD_CHECK(o.eps > 0, "[", op, "] eps is ", o.eps, " (expected > 0)");
  Tensor y = Tensor::empty(x.rows(), f, x.dtype(), ctx.device());  // [N, F]
  BatchNormSaved local{Tensor::empty(1, f, x.dtype(), ctx.device()),
                       Tensor::empty(1, f, x.dtype(), ctx.device())};
  dispatch_float(ctx, op, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::BatchNormArgs<T> a{.x = x.cview<T>(),
                                .gamma = cview_or_null<T>(gamma),
                                .beta = cview_or_null<T>(beta),
                                .running_mean = view_or_null<T>(&running_mean),
                                .running_var = view_or_null<T>(&running_var),
                                .saved_mean = local.mean.view<T>(),
                                .saved_inv_std = local.inv_std.view<T>(),
                                .y = y.view<T>(),
                                .training = o.training,
                                .momentum = o.momentum,
                                .eps = o.eps};
    launch(ctx, a, kernels::cpu::batch_norm<T>, kernels::cuda::batch_norm);
  });
  if (saved) *saved = std::move(local);
  return y;
}

void batch_norm_backward(const Context& ctx, const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const BatchNormSaved& saved, bool training, Tensor* dx, Tensor* dgamma,
                         Tensor* dbeta, bool accumulate) {
  const char* op = "batch_norm_backward";
  check_on(ctx, op, "x", x);
  const int64_t f = x.cols();
  check_tensor(ctx, op, "dy", dy, x.rows(), f, x.dtype());
  check_row(ctx, op, "gamma", gamma, f, x.dtype());
  check_tensor(ctx, op, "saved.mean", saved.mean, 1, f, x.dtype());
  check_tensor(ctx, op, "saved.inv_std", saved.inv_std, 1, f, x.dtype());
  if (dx && dx->defined()) check_tensor(ctx, op, "dx", *dx, x.rows(), f, x.dtype());
  if (dgamma && dgamma->defined()) check_row(ctx, op, "dgamma", *dgamma, f, x.dtype());
  if (dbeta && dbeta->defined()) check_row(ctx, op, "dbeta", *dbeta, f, x.dtype());
  dispatch_float(ctx, op, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::BatchNormBackwardArgs<T> a{.x = x.cview<T>(),
                                        .dy = dy.cview<T>(),
                                        .gamma = cview_or_null<T>(gamma),
                                        .saved_mean = saved.mean.cview<T>(),
                                        .saved_inv_std = saved.inv_std.cview<T>(),
                                        .dx = view_or_null<T>(dx),
                                        .dgamma = view_or_null<T>(dgamma),
                                        .dbeta = view_or_null<T>(dbeta),
                                        .training = training,
                                        .accumulate = accumulate};
    launch(ctx, a, kernels::cpu::batch_norm_backward<T>, kernels::cuda::batch_norm_backward);
  });
}

}  // namespace gkd::ops
