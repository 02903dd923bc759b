#include "distill/online.h"

#include <algorithm>
#include <chrono>

#include "autograd/functions_dense.h"
#include "autograd/functions_loss.h"
#include "distill/cohort_state.h"
#include "distill/cohort_step.h"
#include "engine/error.h"
#include "engine/ops_dense.h"
#include "models/checkpoint.h"
#include "models/metrics.h"
#include "models/selection.h"
#include "models/step_guard.h"
#include "models/train_state.h"

namespace gkd::distill {

namespace ag = autograd;
using autograd::Tape;
using autograd::Var;

namespace {

constexpr struct {
  OnlineMethod method;
  const char* name;
} kOnlineNames[] = {{OnlineMethod::kDml, "dml"},
                    {OnlineMethod::kOc, "oc"},
                    {OnlineMethod::kAlignahead, "alignahead"},
                    {OnlineMethod::kAlignaheadPlus, "alignahead++"},
                    {OnlineMethod::kGml, "gml"}};

}  // namespace

bool batch_cohort(const OnlineOptions& online, const Context& ctx, int64_t students,
                  bool can_batch) {
  const bool wanted =
      online.batch_students == BatchStudents::kAlways ||
      (online.batch_students == BatchStudents::kAuto && ctx.device() == Device::kCUDA);
  return wanted && students > 1 && can_batch;
}

const char* online_method_name(OnlineMethod method) {
  for (const auto& m : kOnlineNames) {
    if (m.method == method) return m.name;
  }
  return "?";
}

OnlineMethod online_method_from_string(const std::string& name) {
  for (const auto& m : kOnlineNames) {
    if (name == m.name) return m.method;
  }
  GKD_FAIL("online method '", name,
           "' is unknown (expected dml, oc, alignahead, alignahead++ or gml)");
}

CohortResult train_cohort(
    const Context& ctx, const std::vector<models::Model*>& students, const io::NodeDataset& data,
    const models::NodeTrainOptions& o, const OnlineOptions& online,
    const std::function<void(int64_t, const models::EpochMetrics&)>& on_epoch) {
  const auto k_count = static_cast<int64_t>(students.size());
  GKD_CHECK(o.epochs >= 1, "[cohort] epochs is ", o.epochs, " (expected >= 1)");
  const Graph g = data.graph.to(ctx.device());
  const io::FeatureMatrix x = data.x.to(ctx.device());
  const Tensor y = data.y.to(ctx.device());
  const Tensor train_mask = data.train_mask.to(ctx.device());
  const Tensor val_mask = data.val_mask.to(ctx.device());
  CohortStepper<models::Model> stepper(ctx, students, online,
                                       {.lr = o.lr,
                                        .weight_decay = o.weight_decay,
                                        .seed = o.seed,
                                        .on_non_finite = o.on_non_finite,
                                        .clip_grad_norm = o.clip_grad_norm,
                                        .divergence_jump = o.divergence_jump,
                                        .stop_on_divergence = o.stop_on_divergence},
                                       g.num_nodes());
  const SupervisedLoss supervised = [&](Var z) { return ag::cross_entropy(z, y, train_mask); };
  std::vector<models::ModelState> states;
  for (models::Model* s : students) states.push_back(models::model_state(*s));
  std::vector<std::vector<Tensor>> best_states(students.size());
  std::vector<models::EpochSelector> selectors(students.size(),
                                               models::EpochSelector(o.paper_eval_every));
  CohortResult result;
  result.batched = stepper.batched();
  result.students.resize(students.size());
  std::vector<models::StepGuard>& guards = stepper.guards();
  std::vector<double> epoch_ms;

  // Crash safety (models/train_state.h): every student's state, ALW factors and optimizer, the
  // best snapshots, and one block of history columns per student.
  CohortState cohort_state(states, best_states, stepper.alw(), stepper.optimizers());
  std::vector<const std::vector<models::EpochMetrics>*> histories;
  for (const models::NodeTrainResult& r : result.students) histories.push_back(&r.history);
  models::TrainState resumed;
  bool stopped =
      cohort_state.resume(o.state, models::kEpochFields, &resumed,
                          [&](int64_t k, const models::EpochMetrics& m) {
                            guards[k].check_loss("epoch " + std::to_string(m.epoch), m.train_loss);
                            stepper.divergence(k).observe(m.epoch, m.train_loss);
                            selectors[k].observe({.epoch = m.epoch,
                                                  .train_loss = m.train_loss,
                                                  .val = m.val_acc,
                                                  .val_loss = m.val_loss,
                                                  .test = m.test_acc});
                            result.students[k].history.push_back(m);
                            if (on_epoch) on_epoch(k, m);
                            if (k == 0) epoch_ms.push_back(m.step_ms);
                          }) &&
      resumed.finished;
  for (models::NodeTrainResult& s : result.students) s.resumed_epoch = resumed.epoch;
  const auto save_state = [&](bool done) {
    cohort_state.save(o.state, models::kEpochFields, histories, {.finished = done});
  };
  for (int64_t epoch = resumed.epoch + 1; epoch <= o.epochs && !stopped; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<double> train_loss =
        stepper.step({g, x}, supervised, static_cast<uint64_t>(epoch),
                     "epoch " + std::to_string(epoch), &stopped);
    if (stopped) break;
    ctx.synchronize();
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    epoch_ms.push_back(ms);
    Tape eval_tape(ctx);
    ag::NoGrad no_grad(eval_tape);
    const std::vector<models::ModelOutput> evaluated = stepper.evaluate(eval_tape, {g, x});
    for (int64_t k = 0; k < k_count; ++k) {
      const Var z = evaluated[k].logits;
      models::EpochMetrics m{.epoch = epoch, .train_loss = train_loss[k], .step_ms = ms};
      m.val_loss = ag::cross_entropy(z, y, val_mask).value().to(Device::kCPU).item<float>();
      const Tensor logits = z.value().to(Device::kCPU);
      m.train_acc = models::accuracy(logits, data.y, data.train_mask);
      m.val_acc = models::accuracy(logits, data.y, data.val_mask);
      m.test_acc = models::accuracy(logits, data.y, data.test_mask);
      if (selectors[k].observe({.epoch = epoch,
                                .train_loss = m.train_loss,
                                .val = m.val_acc,
                                .val_loss = m.val_loss,
                                .test = m.test_acc}) &&
          o.restore_best) {
        best_states[k] = models::snapshot(states[k]);
      }
      result.students[k].history.push_back(m);
      if (on_epoch) on_epoch(k, m);
    }
    if (o.state.every > 0 && epoch % o.state.every == 0 && epoch < o.epochs) save_state(false);
  }

  GKD_CHECK(!epoch_ms.empty(), "[cohort] ", joined_reports(guards),
            " (the run ended in its first epoch)");
  if (!resumed.finished) save_state(true);
  std::nth_element(epoch_ms.begin(), epoch_ms.begin() + epoch_ms.size() / 2, epoch_ms.end());
  result.median_epoch_ms = epoch_ms[epoch_ms.size() / 2];
  for (int64_t k = 0; k < k_count; ++k) {
    if (o.restore_best) models::restore(states[k], best_states[k]);
  }
  Tape tape(ctx);
  ag::NoGrad no_grad(tape);
  const std::vector<models::ModelOutput> final_outs = stepper.evaluate(tape, {g, x});
  Tensor mean_probs;  // [N, C]: the ensemble of the (restored) students
  for (int64_t k = 0; k < k_count; ++k) {
    models::NodeTrainResult& r = result.students[k];
    r.best_epoch = selectors[k].best_epoch();
    r.best_val_acc = selectors[k].best_val();
    r.test_acc = selectors[k].test_at_best();
    r.paper_test_acc = selectors[k].paper_test();
    r.last_test_acc = r.history.back().test_acc;
    r.epochs_run = static_cast<int64_t>(r.history.size());
    r.diverged_epoch = stepper.divergence(k).epoch();
    r.non_finite = guards[k].report();
    r.skipped_steps = guards[k].skipped_steps();
    r.median_step_ms = result.median_epoch_ms;
    const Tensor p =
        ag::softmax_rows(final_outs[k].logits).value().to(Device::kCPU).to_dtype(DType::kF64);
    mean_probs = mean_probs.defined() ? ops::add(Context::cpu(), mean_probs, p) : p;
  }
  result.ensemble_val_acc = models::accuracy(mean_probs, data.y, data.val_mask);
  result.ensemble_test_acc = models::accuracy(mean_probs, data.y, data.test_mask);
  return result;
}

}  // namespace gkd::distill
