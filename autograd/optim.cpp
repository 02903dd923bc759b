#include "autograd/optim.h"

#include <cmath>
#include <map>
#include <set>
#include <string>
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

Optimizer::NamedTensors Optimizer::pack_state(
    const std::vector<int64_t>& steps, const std::vector<std::string>& names,
    const std::vector<std::vector<Tensor>>& moments) const {
  NamedTensors state;
  state.emplace_back("lr", Tensor::from_vector<double>(1, 1, {lr_}));
  state.emplace_back("steps",
                     Tensor::from_vector<int64_t>(static_cast<int64_t>(steps.size()), 1, steps));
  for (size_t k = 0; k < names.size(); ++k) {
    for (size_t i = 0; i < params_.size(); ++i) {
      const Tensor& m = moments[k][i];
      if (m.defined()) state.emplace_back(names[k] + "." + std::to_string(i), m.to(Device::kCPU));
    }
  }
  return state;
}

std::vector<int64_t> Optimizer::unpack_state(const NamedTensors& state,
                                             const std::vector<std::string>& names,
                                             std::vector<std::vector<Tensor>>* moments) {
  std::map<std::string, const Tensor*> by_name;
  for (const auto& [name, t] : state) {
    GKD_CHECK(by_name.emplace(name, &t).second, "[", name_, "] state: '", name, "' appears twice");
  }
  const auto take = [&](const std::string& name) -> const Tensor* {
    const auto it = by_name.find(name);
    if (it == by_name.end()) return nullptr;
    const Tensor* t = it->second;
    by_name.erase(it);
    return t;
  };
  const int64_t n = static_cast<int64_t>(params_.size());
  const Tensor* lr = take("lr");
  GKD_CHECK(lr && lr->rows() == 1 && lr->cols() == 1 && lr->dtype() == DType::kF64, "[", name_,
            "] state: 'lr' is ", lr ? lr->describe() : "missing", " (expected [1, 1] f64)");
  const Tensor* steps_t = take("steps");
  GKD_CHECK(
      steps_t && steps_t->rows() == n && steps_t->cols() == 1 && steps_t->dtype() == DType::kI64,
      "[", name_, "] state: 'steps' is ", steps_t ? steps_t->describe() : "missing", " (expected [",
      n, ", 1] i64)");
  const std::vector<int64_t> steps = steps_t->to(Device::kCPU).to_vector<int64_t>();
  moments->assign(names.size(), std::vector<Tensor>(params_.size()));
  for (size_t k = 0; k < names.size(); ++k) {
    for (size_t i = 0; i < params_.size(); ++i) {
      const std::string name = names[k] + "." + std::to_string(i);
      const Tensor* m = take(name);
      const Tensor& p = params_[i]->value;
      GKD_CHECK(steps[i] >= 0 && (m != nullptr) == (steps[i] > 0), "[", name_, "] state: '", name,
                "' is ", m ? "present" : "missing", " with ", steps[i],
                " steps (expected a moment exactly when steps > 0)");
      if (!m) continue;
      GKD_CHECK(m->same_shape(p) && m->dtype() == p.dtype(), "[", name_, "] state: '", name,
                "' is ", m->describe(), " (expected ", p.describe(), ", like parameter '",
                params_[i]->name, "')");
      (*moments)[k][i] = m->to(p.device()).clone();
    }
  }
  GKD_CHECK(by_name.empty(), "[", name_, "] state: unexpected entry '",
            by_name.empty() ? "" : by_name.begin()->first, "'");
  set_lr(lr->item<double>());
  return steps;
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

Optimizer::NamedTensors Adam::state() const {
  std::vector<int64_t> steps;
  std::vector<std::vector<Tensor>> moments(2);
  for (const State& s : state_) {
    steps.push_back(s.steps);
    moments[0].push_back(s.exp_avg);
    moments[1].push_back(s.exp_avg_sq);
  }
  return pack_state(steps, {"exp_avg", "exp_avg_sq"}, moments);
}

void Adam::load_state(const NamedTensors& state) {
  std::vector<std::vector<Tensor>> moments;
  const std::vector<int64_t> steps = unpack_state(state, {"exp_avg", "exp_avg_sq"}, &moments);
  for (size_t i = 0; i < state_.size(); ++i) {
    state_[i] = {moments[0][i], moments[1][i], steps[i]};
  }
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

Optimizer::NamedTensors SGD::state() const {
  std::vector<int64_t> steps;
  std::vector<std::vector<Tensor>> moments(1);
  for (const State& s : state_) {
    steps.push_back(s.steps);
    moments[0].push_back(s.momentum_buf);
  }
  return pack_state(steps, {"momentum_buf"}, moments);
}

void SGD::load_state(const NamedTensors& state) {
  std::vector<std::vector<Tensor>> moments;
  // Without momentum no buffer exists, whatever the step counts.
  const std::vector<int64_t> steps =
      unpack_state(state,
                   options_.momentum != 0.0 ? std::vector<std::string>{"momentum_buf"}
                                            : std::vector<std::string>{},
                   &moments);
  for (size_t i = 0; i < state_.size(); ++i) {
    state_[i] = {options_.momentum != 0.0 ? moments[0][i] : Tensor(), steps[i]};
  }
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
