// Non-finite values caught at the step that produced them, before they reach the parameters: the
// training loss, then every gradient after backward. The first finding is reported with the step,
// the model and the tensor, e.g.
//   "epoch 17: gat: the gradient of layers.1.attn_l holds NaN or Inf"
// and the trainer then ends the run (keeping its best state) or skips that one optimizer step and
// goes on from the last good parameters and moments, as configured.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autograd/optim.h"
#include "autograd/tape.h"
#include "engine/context.h"

namespace gkd::models {

enum class NonFinitePolicy {
  kStop,      // end the run at the first non-finite loss or gradient (the best state is kept)
  kSkipStep,  // skip that step; end the run after max_consecutive_skips skipped steps in a row
};
// "stop" | "skip"
NonFinitePolicy non_finite_policy_from_string(const std::string& name);

class StepGuard {
 public:
  enum class Verdict { kStep, kSkip, kStop };

  // `model` names the model in reports; `names` gives model-wide parameter names (a parameter not
  // listed is reported by its own Parameter::name).
  StepGuard(std::string model, std::vector<std::pair<std::string, autograd::Parameter*>> names,
            NonFinitePolicy policy, int64_t max_consecutive_skips = 5);

  // `where` locates the step in reports ("epoch 17", "epoch 3, batch 12").
  Verdict check_loss(const std::string& where, double loss);
  // One reduction per parameter with a gradient.
  Verdict check_gradients(const Context& ctx, const std::string& where,
                          const std::vector<autograd::Parameter*>& params);
  void stepped() { consecutive_skips_ = 0; }  // an optimizer step went through

  const std::string& report() const { return report_; }  // the first finding; "" if none
  int64_t skipped_steps() const { return skipped_; }

 private:
  Verdict found(const std::string& where, const std::string& what);

  std::string model_;
  std::vector<std::pair<std::string, autograd::Parameter*>> names_;
  NonFinitePolicy policy_;
  int64_t max_consecutive_skips_;
  int64_t consecutive_skips_ = 0, skipped_ = 0;
  std::string report_;
};

// One optimizer step of `loss`, guarded: checks the loss value, runs backward, checks the
// gradients of the optimizer's parameters, clips them (clip_grad_norm > 0) and steps. A kSkip or
// kStop verdict leaves the parameters and the optimizer's moments untouched.
StepGuard::Verdict guarded_step(StepGuard& guard, const Context& ctx, const std::string& where,
                                autograd::Tape& tape, const autograd::Var& loss, double loss_value,
                                autograd::Optimizer& optimizer, double clip_grad_norm = 0);

}  // namespace gkd::models
