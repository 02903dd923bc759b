#include "engine/ops_optim.h"

#include <cmath>
#include <string>
#include <vector>

#include "engine/dispatch.h"
#include "kernels/registry.h"

namespace gkd::ops {

using namespace detail;

namespace {

void check_positive(const char* op, const char* name, double value) {
  GKD_CHECK(std::isfinite(value) && value > 0.0, "[", op, "] ", name, " must be > 0 (got ", value,
            ")");
}

void check_non_negative(const char* op, const char* name, double value) {
  GKD_CHECK(std::isfinite(value) && value >= 0.0, "[", op, "] ", name, " must be >= 0 (got ", value,
            ")");
}

void check_beta(const char* op, const char* name, double value) {
  GKD_CHECK(value >= 0.0 && value < 1.0, "[", op, "] ", name, " must be in [0, 1) (got ", value,
            ")");
}

std::string item(const char* list, size_t i) {
  return std::string(list) + "[" + std::to_string(i) + "]";
}

// `t` (entry i of `list`) is on ctx, contiguous, and shaped and typed like params[i].
void check_like(const Context& ctx, const char* op, const char* list, size_t i, const Tensor& t,
                const Tensor& param) {
  const std::string name = item(list, i);
  check_on(ctx, op, name.c_str(), t);
  check_dtype(op, name.c_str(), t, param.dtype());
  check_shape(op, name.c_str(), t, param.rows(), param.cols());
  GKD_CHECK(t.is_contiguous(), "[", op, "] ", name, " must be contiguous (got a strided view)");
}

void check_list_size(const char* op, const char* list, size_t got, size_t want) {
  GKD_CHECK(got == want, "[", op, "] ", list, " has ", got, " entries (expected ", want,
            ", one per parameter)");
}

// The checks shared by every optimizer: parameters of one floating dtype, gradients like them,
// step counts >= 1. Returns the dtype (f32 when the list is empty).
DType check_params(const Context& ctx, const char* op, std::span<Tensor> params,
                   std::span<const Tensor> grads, std::span<const int64_t> steps) {
  check_list_size(op, "grads", grads.size(), params.size());
  check_list_size(op, "steps", steps.size(), params.size());
  const DType dtype = params.empty() ? DType::kF32 : params[0].dtype();
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string name = item("params", i);
    check_on(ctx, op, name.c_str(), params[i]);
    check_dtype(op, name.c_str(), params[i], dtype);
    GKD_CHECK(params[i].is_contiguous(), "[", op, "] ", name,
              " must be contiguous (got a strided view)");
    check_like(ctx, op, "grads", i, grads[i], params[i]);
    GKD_CHECK(steps[i] >= 1, "[", op, "] steps[", i, "] is ", steps[i], " (expected >= 1)");
  }
  return dtype;
}

}  // namespace

void check_options(const char* op, const AdamOptions& o) {
  check_positive(op, "lr", o.lr);
  check_beta(op, "beta1", o.beta1);
  check_beta(op, "beta2", o.beta2);
  check_positive(op, "eps", o.eps);
  check_non_negative(op, "weight_decay", o.weight_decay);
}

void check_options(const char* op, const SgdOptions& o) {
  check_positive(op, "lr", o.lr);
  check_non_negative(op, "momentum", o.momentum);
  GKD_CHECK(std::isfinite(o.dampening), "[", op, "] dampening must be finite (got ", o.dampening,
            ")");
  check_non_negative(op, "weight_decay", o.weight_decay);
  GKD_CHECK(!o.nesterov || (o.momentum > 0.0 && o.dampening == 0.0), "[", op,
            "] nesterov momentum requires momentum > 0 and dampening = 0 (got momentum ",
            o.momentum, ", dampening ", o.dampening, ")");
}

void adam_step(const Context& ctx, std::span<Tensor> params, std::span<const Tensor> grads,
               std::span<Tensor> exp_avg, std::span<Tensor> exp_avg_sq,
               std::span<const int64_t> steps, const AdamOptions& options) {
  const char* op = "adam";
  check_options(op, options);
  const DType dtype = check_params(ctx, op, params, grads, steps);
  check_list_size(op, "exp_avg", exp_avg.size(), params.size());
  check_list_size(op, "exp_avg_sq", exp_avg_sq.size(), params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    check_like(ctx, op, "exp_avg", i, exp_avg[i], params[i]);
    check_like(ctx, op, "exp_avg_sq", i, exp_avg_sq[i], params[i]);
  }
  if (params.empty()) return;
  dispatch_float(ctx, op, dtype, [&](auto tag) {
    using T = decltype(tag);
    std::vector<kernels::AdamTensor<T>> table(params.size());  // host table, one entry per tensor
    for (size_t i = 0; i < params.size(); ++i) {
      table[i] = {params[i].data<T>(),     grads[i].data<T>(), exp_avg[i].data<T>(),
                  exp_avg_sq[i].data<T>(), params[i].numel(),  steps[i]};
    }
    const kernels::AdamArgs<T> a{.tensors = table.data(),
                                 .num_tensors = static_cast<int64_t>(table.size()),
                                 .lr = options.lr,
                                 .beta1 = options.beta1,
                                 .beta2 = options.beta2,
                                 .eps = options.eps,
                                 .weight_decay = options.weight_decay,
                                 .decoupled_weight_decay = options.decoupled_weight_decay};
    launch(ctx, a, kernels::cpu::adam<T>, kernels::cuda::adam);
  });
}

void sgd_step(const Context& ctx, std::span<Tensor> params, std::span<const Tensor> grads,
              std::span<Tensor> momentum_bufs, std::span<const int64_t> steps,
              const SgdOptions& options) {
  const char* op = "sgd";
  check_options(op, options);
  const DType dtype = check_params(ctx, op, params, grads, steps);
  const bool use_buf = options.momentum != 0.0;
  if (use_buf) {
    check_list_size(op, "momentum_bufs", momentum_bufs.size(), params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      check_like(ctx, op, "momentum_bufs", i, momentum_bufs[i], params[i]);
    }
  } else {
    GKD_CHECK(momentum_bufs.empty(), "[", op, "] momentum_bufs has ", momentum_bufs.size(),
              " entries but momentum is 0 (expected none)");
  }
  if (params.empty()) return;
  dispatch_float(ctx, op, dtype, [&](auto tag) {
    using T = decltype(tag);
    std::vector<kernels::SgdTensor<T>> table(params.size());  // host table, one entry per tensor
    for (size_t i = 0; i < params.size(); ++i) {
      table[i] = {params[i].data<T>(), grads[i].data<T>(),
                  use_buf ? momentum_bufs[i].data<T>() : nullptr, params[i].numel(), steps[i] == 1};
    }
    const kernels::SgdArgs<T> a{.tensors = table.data(),
                                .num_tensors = static_cast<int64_t>(table.size()),
                                .lr = options.lr,
                                .momentum = options.momentum,
                                .dampening = options.dampening,
                                .weight_decay = options.weight_decay,
                                .nesterov = options.nesterov};
    launch(ctx, a, kernels::cpu::sgd<T>, kernels::cuda::sgd);
  });
}

}  // namespace gkd::ops
