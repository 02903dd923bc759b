// Optimizers over autograd::Parameter lists, with PyTorch's semantics (torch.optim.Adam, AdamW,
// SGD). step() updates every parameter that a gradient reached in one multi-tensor kernel call
// (ops::adam_step / ops::sgd_step); a parameter whose grad is undefined is skipped and its state
// (moments, step count) is left untouched, as PyTorch skips parameters whose .grad is None.
//
//   autograd::Adam opt(ctx, model.parameters(), {.lr = 0.01, .weight_decay = 5e-4});
//   for (...) { opt.zero_grad(); tape.backward(loss); opt.step(); }
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tape.h"
#include "engine/context.h"
#include "engine/ops_optim.h"

namespace gkd::autograd {

using AdamOptions = ops::AdamOptions;  // Adam with L2 weight decay (decoupled: AdamW's update)
using SgdOptions = ops::SgdOptions;

// AdamW's own defaults differ from Adam's in the weight decay (PyTorch: 1e-2).
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual void step() = 0;
  // Drops every gradient (PyTorch's zero_grad(set_to_none=True)): the next backward allocates
  // fresh ones, and parameters that no gradient reaches are skipped by the next step().
  void zero_grad();

  const std::vector<Parameter*>& parameters() const { return params_; }
  double lr() const { return lr_; }
  void set_lr(double lr);  // for learning-rate schedules; must be > 0

  // Everything a resumed run needs besides the parameters (checkpoints): the lr, each parameter's
  // step count and its moments, named by parameter index ("steps", "exp_avg.3", ...). load_state
  // takes what state() gave for the same parameter list; a missing, extra or misshapen entry
  // throws gkd::Error naming it, and nothing is modified then.
  using NamedTensors = std::vector<std::pair<std::string, Tensor>>;
  virtual NamedTensors state() const = 0;
  virtual void load_state(const NamedTensors& state) = 0;

 protected:
  // Rejects null and repeated parameters; the parameters must outlive the optimizer.
  Optimizer(const char* name, Context ctx, std::vector<Parameter*> params, double lr);
  // Indices of the parameters with a defined grad, each checked against its value (shape, dtype).
  std::vector<size_t> with_grad() const;
  // The common layout of state(): "lr" (f64 [1, 1]), "steps" (i64 [n, 1]) and "<moment>.<i>" for
  // each defined moment tensor of parameter i. moments[k][i] is moment names[k] of parameter i.
  NamedTensors pack_state(const std::vector<int64_t>& steps, const std::vector<std::string>& names,
                          const std::vector<std::vector<Tensor>>& moments) const;
  // Checks `state` against that layout and the parameters (every error names the entry), sets the
  // lr, and returns the step counts and the moments (CPU copies moved to each parameter's device;
  // undefined where state() had none).
  std::vector<int64_t> unpack_state(const NamedTensors& state,
                                    const std::vector<std::string>& names,
                                    std::vector<std::vector<Tensor>>* moments);

  const char* name_;  // "Adam", "AdamW", "SGD": prefixes every error message
  Context ctx_;
  std::vector<Parameter*> params_;
  double lr_;
};

class Adam : public Optimizer {
 public:
  Adam(Context ctx, std::vector<Parameter*> params, AdamOptions options = {});
  void step() override;
  NamedTensors state() const override;
  void load_state(const NamedTensors& state) override;
  const AdamOptions& options() const { return options_; }

 protected:
  Adam(const char* name, Context ctx, std::vector<Parameter*> params, AdamOptions options);

 private:
  struct State {
    Tensor exp_avg;     // like the parameter; allocated with zeros on its first step
    Tensor exp_avg_sq;  // like the parameter
    int64_t steps = 0;  // steps this parameter took (its bias correction)
  };
  AdamOptions options_;
  std::vector<State> state_;  // one per parameter
};

// Adam with decoupled weight decay: p ← p·(1 - lr·wd) before the Adam update.
class AdamW : public Adam {
 public:
  AdamW(Context ctx, std::vector<Parameter*> params, AdamWOptions options = {});
};

class SGD : public Optimizer {
 public:
  SGD(Context ctx, std::vector<Parameter*> params, SgdOptions options = {});
  void step() override;
  NamedTensors state() const override;
  void load_state(const NamedTensors& state) override;
  const SgdOptions& options() const { return options_; }

 private:
  struct State {
    Tensor momentum_buf;  // like the parameter when momentum != 0
    int64_t steps = 0;
  };
  SgdOptions options_;
  std::vector<State> state_;  // one per parameter
};

// torch.nn.utils.clip_grad_norm_: the global L2 norm of every defined gradient; when it exceeds
// max_norm (> 0), every gradient is scaled by max_norm / (norm + 1e-6). Returns the norm before
// clipping (inf or nan when a gradient holds one, in which case nothing is scaled).
double clip_grad_norm(const Context& ctx, const std::vector<Parameter*>& params, double max_norm);

}  // namespace gkd::autograd
