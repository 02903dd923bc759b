#include "models/step_guard.h"

#include <cmath>

#include "engine/error.h"
#include "engine/ops_dense.h"

namespace gkd::models {

NonFinitePolicy non_finite_policy_from_string(const std::string& name) {
  if (name == "stop") return NonFinitePolicy::kStop;
  if (name == "skip") return NonFinitePolicy::kSkipStep;
  GKD_FAIL("non-finite policy '", name, "' is unknown (expected stop or skip)");
}

StepGuard::StepGuard(std::string model,
                     std::vector<std::pair<std::string, autograd::Parameter*>> names,
                     NonFinitePolicy policy, int64_t max_consecutive_skips)
    : model_(std::move(model)),
      names_(std::move(names)),
      policy_(policy),
      max_consecutive_skips_(max_consecutive_skips) {
  GKD_CHECK(max_consecutive_skips_ >= 1, "[StepGuard] max_consecutive_skips is ",
            max_consecutive_skips_, " (expected >= 1)");
}

StepGuard::Verdict StepGuard::found(const std::string& where, const std::string& what) {
  if (report_.empty()) report_ = where + ": " + model_ + ": " + what;
  if (policy_ == NonFinitePolicy::kStop) return Verdict::kStop;
  ++skipped_;
  return ++consecutive_skips_ > max_consecutive_skips_ ? Verdict::kStop : Verdict::kSkip;
}

StepGuard::Verdict StepGuard::check_loss(const std::string& where, double loss) {
  if (std::isfinite(loss)) return Verdict::kStep;
  return found(where, std::string("the training loss is ") + (std::isnan(loss) ? "NaN"
                                                              : loss > 0       ? "+Inf"
                                                                               : "-Inf"));
}

StepGuard::Verdict StepGuard::check_gradients(const Context& ctx, const std::string& where,
                                              const std::vector<autograd::Parameter*>& params) {
  for (const autograd::Parameter* p : params) {
    if (!p->grad.defined()) continue;
    // A sum is NaN or Inf whenever an element is; a sum that overflows f32 from finite elements
    // counts too (gradients near 1e38 are as harmful as Inf).
    const double sum = ops::sum(ctx, p->grad).to(Device::kCPU).to_dtype(DType::kF64).item<double>();
    if (std::isfinite(sum)) continue;
    std::string name = p->name;
    for (const auto& [n, q] : names_) {
      if (q == p) name = n;
    }
    return found(where, "the gradient of " + name + " holds NaN or Inf");
  }
  return Verdict::kStep;
}

StepGuard::Verdict guarded_step(StepGuard& guard, const Context& ctx, const std::string& where,
                                autograd::Tape& tape, const autograd::Var& loss, double loss_value,
                                autograd::Optimizer& optimizer, double clip_grad_norm) {
  StepGuard::Verdict verdict = guard.check_loss(where, loss_value);
  if (verdict != StepGuard::Verdict::kStep) return verdict;
  optimizer.zero_grad();
  tape.backward(loss);
  verdict = guard.check_gradients(ctx, where, optimizer.parameters());
  if (verdict != StepGuard::Verdict::kStep) return verdict;
  if (clip_grad_norm > 0) autograd::clip_grad_norm(ctx, optimizer.parameters(), clip_grad_norm);
  optimizer.step();
  guard.stepped();
  return verdict;
}

}  // namespace gkd::models
