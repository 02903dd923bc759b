#include "distill/online_inductive.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "autograd/functions_loss.h"
#include "distill/cohort_state.h"
#include "distill/cohort_step.h"
#include "engine/error.h"
#include "models/checkpoint.h"
#include "models/metrics.h"
#include "models/selection.h"
#include "models/train_state.h"

namespace gkd::distill {

namespace ag = autograd;
using autograd::Tape;
using autograd::Var;

namespace {

// The mean of the students' label probabilities as logits (log p − log(1 − p)), so that
// models::micro_f1's threshold at logit 0 is the threshold at probability 0.5.
Tensor ensemble_logits(const std::vector<Tensor>& logits) {
  const int64_t n = logits.front().rows(), l = logits.front().cols();
  std::vector<double> mean(static_cast<size_t>(n * l), 0.0);
  for (const Tensor& z : logits) {
    const std::vector<double> v = z.to(Device::kCPU).to_dtype(DType::kF64).to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) mean[i] += 1.0 / (1.0 + std::exp(-v[i]));
  }
  for (double& p : mean) {
    p = std::clamp(p / double(logits.size()), 1e-12, 1.0 - 1e-12);
    p = std::log(p) - std::log1p(-p);
  }
  return Tensor::from_vector<double>(n, l, mean);
}

}  // namespace

InductiveCohortResult train_inductive_cohort(
    const Context& ctx, const std::vector<models::Model*>& students, const io::PpiDataset& data,
    const models::InductiveTrainOptions& o, const OnlineOptions& online,
    const std::function<void(int64_t, const models::InductiveEpochMetrics&)>& on_epoch) {
  GKD_CHECK(online.method != OnlineMethod::kDml && online.method != OnlineMethod::kGml,
            "[inductive cohort] ", online_method_name(online.method),
            " compares softmax class distributions, which a multi-label task does not have "
            "(expected oc, alignahead or alignahead++)");
  GKD_CHECK(o.epochs >= 1 && o.graphs_per_step >= 1 && o.paper_eval_every >= 1,
            "[inductive cohort] epochs ", o.epochs, ", graphs_per_step ", o.graphs_per_step,
            ", paper_eval_every ", o.paper_eval_every, " (expected >= 1 each)");
  GKD_CHECK(!data.train.graphs.empty() && !data.valid.graphs.empty() && !data.test.graphs.empty(),
            "[inductive cohort] every split needs at least one graph");
  const auto k_count = static_cast<int64_t>(students.size());
  CohortStepper<models::Model> stepper(ctx, students, online,
                                       {.lr = o.lr,
                                        .weight_decay = o.weight_decay,
                                        .seed = o.seed,
                                        .on_non_finite = o.on_non_finite},
                                       0);
  const models::InductiveBatch valid = models::whole_split(data.valid, ctx.device());
  const models::InductiveBatch test = models::whole_split(data.test, ctx.device());
  const Tensor valid_y = valid.y.to(Device::kCPU), test_y = test.y.to(Device::kCPU);
  // Every student's logits on a whole split in eval mode (one batched forward).
  const auto predict = [&](const models::InductiveBatch& split) {
    Tape tape(ctx);
    ag::NoGrad no_grad(tape);
    std::vector<Tensor> logits;
    for (const models::ModelOutput& out : stepper.evaluate(tape, {split.graph, split.x})) {
      logits.push_back(out.logits.value());
    }
    return logits;
  };
  const auto val_bce = [&](const Tensor& z) {
    Tape tape(ctx);
    return ag::bce_with_logits(tape.constant(z), valid.y).value().to(Device::kCPU).item<float>();
  };

  std::vector<models::ModelState> states;
  for (models::Model* s : students) states.push_back(models::model_state(*s));
  std::vector<std::vector<Tensor>> best(students.size());
  std::vector<models::EpochSelector> selectors(students.size(),
                                               models::EpochSelector(o.paper_eval_every));
  InductiveCohortResult r;
  r.batched = stepper.batched();
  r.students.resize(students.size());
  std::vector<models::StepGuard>& guards = stepper.guards();
  std::vector<double> epoch_ms;
  uint64_t step = 0;

  // Crash safety, as train_cohort: every student's state and optimizer, the best snapshots, one
  // block of history columns per student, and the step counter (dropout masks are keyed by it).
  CohortState cohort_state(states, best, stepper.alw(), stepper.optimizers());
  std::vector<const std::vector<models::InductiveEpochMetrics>*> histories;
  for (const models::InductiveTrainResult& s : r.students) histories.push_back(&s.history);
  models::TrainState resumed;
  bool stopped =
      cohort_state.resume(o.state, models::kInductiveEpochFields, &resumed,
                          [&](int64_t k, const models::InductiveEpochMetrics& m) {
                            guards[k].check_loss("epoch " + std::to_string(m.epoch), m.train_loss);
                            selectors[k].observe({.epoch = m.epoch,
                                                  .train_loss = m.train_loss,
                                                  .val = m.val_f1,
                                                  .val_loss = m.val_loss,
                                                  .test = m.test_f1});
                            r.students[k].history.push_back(m);
                            if (on_epoch) on_epoch(k, m);
                            if (k == 0) epoch_ms.push_back(m.epoch_ms);
                          }) &&
      resumed.finished;
  step = static_cast<uint64_t>(resumed.steps);
  for (models::InductiveTrainResult& s : r.students) s.resumed_epoch = resumed.epoch;
  const auto save_state = [&](bool done) {
    cohort_state.save(o.state, models::kInductiveEpochFields, histories,
                      {.finished = done, .steps = static_cast<int64_t>(step)});
  };
  const auto n_train = static_cast<int64_t>(data.train.graphs.size());
  for (int64_t epoch = resumed.epoch + 1; epoch <= o.epochs && !stopped; ++epoch) {
    std::vector<double> loss_sum(students.size(), 0.0);
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<std::vector<int64_t>> batches =
        models::inductive_steps(n_train, o.graphs_per_step, o.seed, epoch);
    // Simultaneous: every batch steps the whole cohort. Alternating, as the official Alignahead
    // code: each student in turn takes a full pass over the epoch's batches, the others frozen.
    const bool alternating = online.schedule == Schedule::kAlternating;
    for (int64_t turn = 0; turn < (alternating ? k_count : 1) && !stopped; ++turn) {
      for (const std::vector<int64_t>& ids : batches) {
        const models::InductiveBatch b =
            models::make_inductive_batch(data.train, ids, ctx.device());
        const SupervisedLoss supervised = [&](Var z) { return ag::bce_with_logits(z, b.y); };
        const std::string where = "epoch " + std::to_string(epoch) + ", step " +
                                  std::to_string(&ids - batches.data() + 1);
        if (alternating) {
          loss_sum[turn] +=
              stepper.step_one(turn, {b.graph, b.x}, supervised, step, where, &stopped);
        } else {
          const std::vector<double> losses =
              stepper.step({b.graph, b.x}, supervised, step, where, &stopped);
          for (int64_t k = 0; k < k_count; ++k) loss_sum[k] += losses[k];
        }
        if (stopped) break;
        ++step;
      }
    }
    if (stopped) break;
    const auto steps = static_cast<int64_t>(batches.size());
    ctx.synchronize();
    epoch_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    const std::vector<Tensor> val_logits = predict(valid), test_logits = predict(test);
    for (int64_t k = 0; k < k_count; ++k) {
      models::InductiveEpochMetrics m{
          .epoch = epoch, .train_loss = loss_sum[k] / double(steps), .epoch_ms = epoch_ms.back()};
      m.val_loss = val_bce(val_logits[k]);
      m.val_f1 = models::micro_f1(val_logits[k].to(Device::kCPU), valid_y, {}, o.raw_logit_rule);
      m.test_f1 = models::micro_f1(test_logits[k].to(Device::kCPU), test_y, {}, o.raw_logit_rule);
      if (selectors[k].observe({.epoch = epoch,
                                .train_loss = m.train_loss,
                                .val = m.val_f1,
                                .val_loss = m.val_loss,
                                .test = m.test_f1}) &&
          o.restore_best) {
        best[k] = models::snapshot(states[k]);
      }
      r.students[k].history.push_back(m);
      if (on_epoch) on_epoch(k, m);
    }
    if (o.state.every > 0 && epoch % o.state.every == 0 && epoch < o.epochs) save_state(false);
  }
  GKD_CHECK(!epoch_ms.empty(), "[inductive cohort] ", joined_reports(guards),
            " (the run ended in its first epoch)");
  if (!resumed.finished) save_state(true);
  std::nth_element(epoch_ms.begin(), epoch_ms.begin() + epoch_ms.size() / 2, epoch_ms.end());
  r.median_epoch_ms = epoch_ms[epoch_ms.size() / 2];
  for (int64_t k = 0; k < k_count; ++k) {
    models::InductiveTrainResult& s = r.students[k];
    if (o.restore_best && !best[k].empty()) models::restore(states[k], best[k]);
    s.best_epoch = selectors[k].best_epoch();
    s.best_val_f1 = selectors[k].best_val();
    s.test_f1 = selectors[k].test_at_best();
    s.paper_test_f1 = selectors[k].paper_test();
    s.last_test_f1 = s.history.back().test_f1;
    s.median_epoch_ms = r.median_epoch_ms;
    s.non_finite = guards[k].report();
    s.skipped_steps = guards[k].skipped_steps();
  }
  r.ensemble_val_f1 = models::micro_f1(ensemble_logits(predict(valid)), valid_y);
  r.ensemble_test_f1 = models::micro_f1(ensemble_logits(predict(test)), test_y);
  return r;
}

}  // namespace gkd::distill
