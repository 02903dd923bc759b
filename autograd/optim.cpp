#include "autograd/optim.h"

#include <cmath>
#include <set>
#include <utility>

#include "engine/error.h"
#include "engine/ops_dense.h"

namespace gkd::autograd {

Optimizer::Optimizer(const char* name, Context ctx, std::vector<Parameter*> params, double lr)
    : name_(name), ctx_(std::move(ctx)), params_(std::move(params)), lr_(lr) {
  std::set<const Parameter*> seen;
  for (size_t i = 0; i < params_.size(); ++i) {
    GKD_CHECK(params_[i] != nullptr, "[", name_, "] parameter ", i, " is null");
    GKD_CHECK(seen.insert(params_[i]).second, "[", name_, "] parameter ", i, " ('",
              params_[i]->name, "') appears more than once");
  }
}

void Optimizer::zero_grad() {
  for (Parameter* p : params_) p->grad = Tensor();
}

void Optimizer::set_lr(double lr) {
  GKD_CHECK(std::isfinite(lr) && lr > 0.0, "[", name_, "] lr must be > 0 (got ", lr, ")");
  lr_ = lr;
}

std::vector<size_t> Optimizer::with_grad() const {
  std::vector<size_t> active;
  for (size_t i = 0; i < params_.size(); ++i) {
    const Parameter& p = *params_[i];
    if (!p.grad.defined()) continue;
    GKD_CHECK(p.grad.same_shape(p.value) && p.grad.dtype() == p.value.dtype(), "[", name_,
              "] parameter '", p.name, "': grad is ", p.grad.describe(), " (expected ",
              p.value.describe(), ")");
    active.push_back(i);
  }
  return active;
}

Adam::Adam(Context ctx, std::vector<Parameter*> params, AdamOptions options)
    : Adam("Adam", std::move(ctx), std::move(params), options) {}

Adam::Adam(const char* name, Context ctx, std::vector<Parameter*> params, AdamOptions options)
    : Optimizer(name, std::move(ctx), std::move(params), options.lr),
      options_(options),
      state_(params_.size()) {
  ops::check_options(name_, options_);
}

void Adam::step() {
  const std::vector<size_t> active = with_grad();
  std::vector<Tensor> params, grads, exp_avg, exp_avg_sq;  // handles sharing storage
  std::vector<int64_t> steps;
  for (size_t i : active) {
    const Parameter& p = *params_[i];
    State& s = state_[i];
    if (!s.exp_avg.defined()) {
      s.exp_avg = Tensor::zeros(p.value.rows(), p.value.cols(), p.value.dtype(), p.value.device());
      s.exp_avg_sq =
          Tensor::zeros(p.value.rows(), p.value.cols(), p.value.dtype(), p.value.device());
    }
    params.push_back(p.value);
    grads.push_back(p.grad);
    exp_avg.push_back(s.exp_avg);
    exp_avg_sq.push_back(s.exp_avg_sq);
    steps.push_back(s.steps + 1);
  }
  AdamOptions o = options_;
  o.lr = lr_;
  ops::adam_step(ctx_, params, grads, exp_avg, exp_avg_sq, steps, o);
  for (size_t i : active) ++state_[i].steps;  // only once the update went through
}

AdamW::AdamW(Context ctx, std::vector<Parameter*> params, AdamWOptions options)
    : Adam("AdamW", std::move(ctx), std::move(params),
           {.lr = options.lr,
            .beta1 = options.beta1,
            .beta2 = options.beta2,
            .eps = options.eps,
            .weight_decay = options.weight_decay,
            .decoupled_weight_decay = true}) {}

SGD::SGD(Context ctx, std::vector<Parameter*> params, SgdOptions options)
    : Optimizer("SGD", std::move(ctx), std::move(params), options.lr),
      options_(options),
      state_(params_.size()) {
  ops::check_options(name_, options_);
}

void SGD::step() {
  const std::vector<size_t> active = with_grad();
  const bool use_buf = options_.momentum != 0.0;
  std::vector<Tensor> params, grads, bufs;  // handles sharing storage
  std::vector<int64_t> steps;
  for (size_t i : active) {
    const Parameter& p = *params_[i];
    State& s = state_[i];
    if (use_buf && !s.momentum_buf.defined()) {
      // Never read before it is written: the first step stores the gradient in it.
      s.momentum_buf =
          Tensor::empty(p.value.rows(), p.value.cols(), p.value.dtype(), p.value.device());
    }
    params.push_back(p.value);
    grads.push_back(p.grad);
    if (use_buf) bufs.push_back(s.momentum_buf);
    steps.push_back(s.steps + 1);
  }
  SgdOptions o = options_;
  o.lr = lr_;
  ops::sgd_step(ctx_, params, grads, bufs, steps, o);
  for (size_t i : active) ++state_[i].steps;
}

double clip_grad_norm(const Context& ctx, const std::vector<Parameter*>& params, double max_norm) {
  GKD_CHECK(max_norm > 0, "[clip_grad_norm] max_norm is ", max_norm, " (expected > 0)");
  double sum = 0;
  for (const Parameter* p : params) {
    if (!p || !p->grad.defined()) continue;
    const Tensor squares = ops::mul(ctx, p->grad, p->grad);
    sum += ops::sum(ctx, squares).to(Device::kCPU).to_dtype(DType::kF64).item<double>();
  }
  const double norm = std::sqrt(sum);
  if (std::isfinite(norm) && norm > max_norm) {
    const double factor = max_norm / (norm + 1e-6);
    for (Parameter* p : params) {
      if (p && p->grad.defined()) ops::axpby(ctx, 0.0, p->grad, factor, p->grad);
    }
  }
  return norm;
}

}  // namespace gkd::autograd
