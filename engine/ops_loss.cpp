#include "engine/ops_loss.h"

#include <cmath>
#include <vector>

#include "engine/dispatch.h"
#include "kernels/registry.h"

namespace gkd::ops {

using namespace detail;

namespace {

// A [N, C] floating input with at least one element (a mean over nothing is not a loss).
void check_input(const Context& ctx, const char* op, const char* name, const Tensor& t) {
  check_on(ctx, op, name, t);
  GKD_CHECK(t.rows() > 0 && t.cols() > 0, "[", op, "] ", name, " is [", t.rows(), ", ", t.cols(),
            "] (expected at least one row and one column)");
}

// A contiguous [n, 1] per-row tensor (labels, mask, temperatures).
void check_column(const Context& ctx, const char* op, const char* name, const Tensor& t,
                  int64_t n) {
  check_on(ctx, op, name, t);
  GKD_CHECK(t.rows() == n, "[", op, "] ", name, " has ", t.rows(), " rows (expected ", n, ")");
  check_shape(op, name, t, n, 1);
  GKD_CHECK(t.is_contiguous(), "[", op, "] ", name, " must be contiguous (got a strided view)");
}

const uint8_t* check_mask(const Context& ctx, const char* op, const Tensor& mask, int64_t n) {
  if (!mask.defined()) return nullptr;
  check_column(ctx, op, "mask", mask, n);
  check_dtype(op, "mask", mask, DType::kU8);
  return mask.data<uint8_t>();
}

bool is_selected(const uint8_t* mask, int64_t i) {
  return mask == nullptr || mask[i] != 0;
}

template <class L>
void check_label_range(const char* op, const L* labels, const uint8_t* mask, int64_t n,
                       int64_t classes) {
  for (int64_t i = 0; i < n; ++i) {
    if (!is_selected(mask, i)) continue;
    GKD_CHECK(labels[i] >= 0 && labels[i] < classes, "[", op, "] labels[", i, "] is ", labels[i],
              " (expected a class in [0, ", classes, "))");
  }
}

void check_temperature(const char* op, double temperature) {
  GKD_CHECK(std::isfinite(temperature) && temperature > 0, "[", op, "] temperature is ",
            temperature, " (expected a finite value > 0)");
}

// loss [1, 1] and rows [N, 1] for every op; the kernel overwrites both.
LossOutput make_output(const Context& ctx, const Tensor& like) {
  LossOutput out;
  out.loss = Tensor::empty(1, 1, like.dtype(), ctx.device());            // [1, 1]
  out.rows = Tensor::empty(like.rows(), 1, like.dtype(), ctx.device());  // [N, 1]
  return out;
}

Tensor empty_like_if(bool want, const Context& ctx, const Tensor& like) {
  return want ? Tensor::empty(like.rows(), like.cols(), like.dtype(), ctx.device()) : Tensor();
}

// The kernels read a null data pointer as "skip this output".
template <class T>
kernels::MatView<T> view_or_null(Tensor& t) {
  return t.defined() ? t.view<T>() : kernels::MatView<T>{};
}
template <class T>
T* data_or_null(Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

}  // namespace

LossOutput cross_entropy(const Context& ctx, const Tensor& logits, const Tensor& labels,
                         const Tensor& mask, bool want_grad) {
  const char* op = "cross_entropy";
  check_input(ctx, op, "logits", logits);
  const int64_t n = logits.rows(), classes = logits.cols();
  check_column(ctx, op, "labels", labels, n);
  GKD_CHECK(labels.dtype() == DType::kI32 || labels.dtype() == DType::kI64, "[", op, "] labels is ",
            dtype_name(labels.dtype()), " (expected i32 or i64)");
  const uint8_t* m = check_mask(ctx, op, mask, n);
  const bool i32 = labels.dtype() == DType::kI32;
  if (!ctx.is_cuda()) {
    if (i32) check_label_range(op, labels.data<int32_t>(), m, n, classes);
    if (!i32) check_label_range(op, labels.data<int64_t>(), m, n, classes);
  }
  LossOutput out = make_output(ctx, logits);
  out.grad = empty_like_if(want_grad, ctx, logits);  // [N, C]
  dispatch_float(ctx, op, logits.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::CrossEntropyArgs<T> a{logits.cview<T>(),
                                   i32 ? labels.data<int32_t>() : nullptr,
                                   i32 ? nullptr : labels.data<int64_t>(),
                                   m,
                                   out.rows.data<T>(),
                                   out.loss.data<T>(),
                                   view_or_null<T>(out.grad)};
    launch(ctx, a, kernels::cpu::cross_entropy<T>, kernels::cuda::cross_entropy);
  });
  return out;
}

LossOutput bce_with_logits(const Context& ctx, const Tensor& logits, const Tensor& targets,
                           const Tensor& mask, bool want_grad) {
  const char* op = "bce_with_logits";
  check_input(ctx, op, "logits", logits);
  check_tensor(ctx, op, "targets", targets, logits.rows(), logits.cols(), logits.dtype());
  const uint8_t* m = check_mask(ctx, op, mask, logits.rows());
  LossOutput out = make_output(ctx, logits);
  out.grad = empty_like_if(want_grad, ctx, logits);  // [N, L]
  dispatch_float(ctx, op, logits.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::BceWithLogitsArgs<T> a{
        logits.cview<T>(),  targets.cview<T>(), m,
        out.rows.data<T>(), out.loss.data<T>(), view_or_null<T>(out.grad)};
    launch(ctx, a, kernels::cpu::bce_with_logits<T>, kernels::cuda::bce_with_logits);
  });
  return out;
}

LossOutput kl_div(const Context& ctx, const Tensor& student, const Tensor& teacher,
                  const KlDivOptions& options) {
  const char* op = "kl_div";
  check_input(ctx, op, "student", student);
  check_tensor(ctx, op, "teacher", teacher, student.rows(), student.cols(), student.dtype());
  const int64_t n = student.rows();
  const uint8_t* m = check_mask(ctx, op, options.mask, n);
  const Tensor& row_t = options.row_temperature;  // [N, 1] or undefined
  if (row_t.defined()) {
    check_column(ctx, op, "row_temperature", row_t, n);
    check_dtype(op, "row_temperature", row_t, student.dtype());
    if (!ctx.is_cuda()) {
      const std::vector<double> values = row_t.to_dtype(DType::kF64).to_vector<double>();
      for (int64_t i = 0; i < n; ++i) {
        GKD_CHECK(!is_selected(m, i) || (std::isfinite(values[i]) && values[i] > 0), "[", op,
                  "] row_temperature[", i, "] is ", values[i], " (expected a finite value > 0)");
      }
    }
  } else {
    check_temperature(op, options.temperature);
  }
  GKD_CHECK(!options.grad_temperature || row_t.defined(), "[", op,
            "] grad_temperature needs a per-row temperature tensor (got a scalar temperature)");
  LossOutput out = make_output(ctx, student);
  out.grad = empty_like_if(options.grad_student, ctx, student);                // [N, C]
  out.grad_teacher = empty_like_if(options.grad_teacher, ctx, teacher);        // [N, C]
  out.grad_temperature = empty_like_if(options.grad_temperature, ctx, row_t);  // [N, 1]
  dispatch_float(ctx, op, student.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::KlDivArgs<T> a{student.cview<T>(),
                            teacher.cview<T>(),
                            static_cast<T>(options.temperature),
                            row_t.defined() ? row_t.data<T>() : nullptr,
                            m,
                            out.rows.data<T>(),
                            out.loss.data<T>(),
                            view_or_null<T>(out.grad),
                            view_or_null<T>(out.grad_teacher),
                            data_or_null<T>(out.grad_temperature)};
    launch(ctx, a, kernels::cpu::kl_div<T>, kernels::cuda::kl_div);
  });
  return out;
}

LossOutput softmax_entropy(const Context& ctx, const Tensor& x, double temperature,
                           const Tensor& mask, bool want_grad) {
  const char* op = "softmax_entropy";
  check_input(ctx, op, "x", x);
  check_temperature(op, temperature);
  const uint8_t* m = check_mask(ctx, op, mask, x.rows());
  LossOutput out = make_output(ctx, x);
  out.grad = empty_like_if(want_grad, ctx, x);  // [N, C]
  dispatch_float(ctx, op, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::SoftmaxEntropyArgs<T> a{
        x.cview<T>(),       static_cast<T>(temperature), m,
        out.rows.data<T>(), out.loss.data<T>(),          view_or_null<T>(out.grad)};
    launch(ctx, a, kernels::cpu::softmax_entropy<T>, kernels::cuda::softmax_entropy);
  });
  return out;
}

LossOutput mse(const Context& ctx, const Tensor& a, const Tensor& b, bool want_grad) {
  const char* op = "mse";
  check_input(ctx, op, "a", a);
  check_tensor(ctx, op, "b", b, a.rows(), a.cols(), a.dtype());
  LossOutput out = make_output(ctx, a);
  out.grad = empty_like_if(want_grad, ctx, a);  // [N, F]
  dispatch_float(ctx, op, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::MseArgs<T> args{a.cview<T>(), b.cview<T>(), out.rows.data<T>(), out.loss.data<T>(),
                             view_or_null<T>(out.grad)};
    launch(ctx, args, kernels::cpu::mse<T>, kernels::cuda::mse);
  });
  return out;
}

void scaled_add(const Context& ctx, double factor, const Tensor& scale, const Tensor& x,
                Tensor& y) {
  const char* op = "scaled_add";
  check_on(ctx, op, "scale", scale);
  check_on(ctx, op, "x", x);
  check_on(ctx, op, "y", y);
  check_shape(op, "scale", scale, 1, 1);
  check_dtype(op, "scale", scale, x.dtype());
  check_dtype(op, "y", y, x.dtype());
  check_shape(op, "y", y, x.rows(), x.cols());
  dispatch_float(ctx, op, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::ScaledAddArgs<T> a{x.cview<T>(), scale.data<T>(), static_cast<T>(factor), y.view<T>()};
    launch(ctx, a, kernels::cpu::scaled_add<T>, kernels::cuda::scaled_add);
  });
}

}  // namespace gkd::ops
