#include "distill/online_graph.h"

#include <algorithm>
#include <chrono>
#include <memory>

#include "autograd/functions_loss.h"
#include "distill/cohort_state.h"
#include "distill/cohort_step.h"
#include "engine/error.h"
#include "engine/ops_dense.h"
#include "models/checkpoint.h"
#include "models/selection.h"
#include "models/step_guard.h"

namespace gkd::distill {

namespace ag = autograd;
using autograd::Var;

GraphCohortResult train_graph_cohort(
    const Context& ctx, const std::vector<models::GraphModel*>& students,
    const io::GraphDataset& data, const models::GraphSplit& split,
    const models::GraphTrainOptions& o, const OnlineOptions& online,
    const std::function<void(int64_t student, const models::GraphEpochMetrics&)>& on_epoch) {
  const auto k_count = static_cast<int64_t>(students.size());
  GKD_CHECK(o.epochs >= 1 && o.batch_size >= 2 && !split.test.empty() && split.train.size() >= 2,
            "[graph cohort] epochs ", o.epochs, ", batch_size ", o.batch_size, ", ",
            split.train.size(), " training and ", split.test.size(),
            " test graphs (expected >= 1, "
            ">= 2, >= 2 and >= 1)");
  // GML's χ has one row per graph of the dataset.
  CohortStepper<models::GraphModel> stepper(ctx, students, online,
                                            {.lr = o.lr,
                                             .weight_decay = o.weight_decay,
                                             .seed = o.seed,
                                             .on_non_finite = o.on_non_finite},
                                            static_cast<int64_t>(data.samples.size()));
  std::vector<models::ModelState> states;
  for (models::GraphModel* s : students) states.push_back(models::model_state(*s));

  GraphCohortResult r;
  r.students.resize(students.size());
  r.batched = stepper.batched();
  std::vector<models::EpochSelector> selectors(students.size());
  std::vector<std::vector<Tensor>> best(students.size());
  std::vector<double> epoch_ms;
  uint64_t step = 0;
  std::vector<models::StepGuard>& guards = stepper.guards();

  // Crash safety (models/train_state.h), as train_cohort: every student's state, ALW factors and
  // optimizer, the best snapshots, one block of history columns per student, the step counter.
  CohortState cohort_state(states, best, stepper.alw(), stepper.optimizers());
  std::vector<const std::vector<models::GraphEpochMetrics>*> histories;
  for (const models::GraphTrainResult& s : r.students) histories.push_back(&s.history);
  models::TrainState resumed;
  bool stopped =
      cohort_state.resume(o.state, models::kGraphEpochFields, &resumed,
                          [&](int64_t k, const models::GraphEpochMetrics& m) {
                            guards[k].check_loss("epoch " + std::to_string(m.epoch), m.train_loss);
                            selectors[k].observe({.epoch = m.epoch,
                                                  .train_loss = m.train_loss,
                                                  .val = m.val,
                                                  .val_loss = m.val_loss,
                                                  .test = m.test});
                            r.students[k].history.push_back(m);
                            if (on_epoch) on_epoch(k, m);
                            if (k == 0) epoch_ms.push_back(m.epoch_ms);
                          }) &&
      resumed.finished;
  step = static_cast<uint64_t>(resumed.steps);
  for (models::GraphTrainResult& s : r.students) s.resumed_epoch = resumed.epoch;
  const auto save_state = [&](bool done) {
    cohort_state.save(o.state, models::kGraphEpochFields, histories,
                      {.finished = done, .steps = static_cast<int64_t>(step)});
  };
  // Simultaneous: every batch steps the whole cohort. Alternating, as the official Alignahead
  // code: each student in turn takes a full pass over the epoch's batches, the others frozen.
  const bool alternating = online.schedule == Schedule::kAlternating;
  for (int64_t epoch = resumed.epoch + 1; epoch <= o.epochs && !stopped; ++epoch) {
    std::vector<double> loss_sum(students.size(), 0.0);
    const auto t0 = std::chrono::steady_clock::now();
    const auto batches = models::epoch_batches(split.train, o, static_cast<uint64_t>(epoch));
    for (int64_t turn = 0; turn < (alternating ? k_count : 1) && !stopped; ++turn) {
      for (const std::vector<int64_t>& ids : batches) {
        const std::string where = "epoch " + std::to_string(epoch) + ", batch " +
                                  std::to_string(&ids - batches.data() + 1);
        const io::GraphBatch b = io::make_batch(data, ids);
        const Tensor y = b.y.to(ctx.device());
        const GraphStepInput in{
            .batch = b,
            .graph = b.graph.to(ctx.device()),
            .rows = Tensor::from_vector<int64_t>(static_cast<int64_t>(ids.size()), 1, ids)
                        .to(ctx.device())};
        const SupervisedLoss supervised = [&](Var z) { return ag::cross_entropy(z, y); };
        if (alternating) {
          loss_sum[turn] += stepper.step_one(turn, in, supervised, step, where, &stopped);
        } else {
          const std::vector<double> losses = stepper.step(in, supervised, step, where, &stopped);
          for (int64_t k = 0; k < k_count; ++k) loss_sum[k] += losses[k];
        }
        if (stopped) break;
        ++step;
      }
    }
    if (stopped) break;
    if (o.lr_step > 0 && epoch % o.lr_step == 0) {
      for (auto& opt : stepper.optimizers()) opt->set_lr(opt->lr() * o.lr_gamma);
    }
    ctx.synchronize();
    epoch_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    for (int64_t k = 0; k < k_count; ++k) {
      models::GraphEpochMetrics m{.epoch = epoch,
                                  .train_loss = loss_sum[k] / double(batches.size()),
                                  .epoch_ms = epoch_ms.back()};
      if (!split.val.empty()) {
        const models::GraphEvaluation v = models::evaluate_graph_classifier(
            ctx, *students[k], data, split.val, o.metric, o.eval_batch_size);
        m.val_loss = v.loss;
        m.val = v.metric;
      }
      m.test = models::evaluate_graph_classifier(ctx, *students[k], data, split.test, o.metric,
                                                 o.eval_batch_size)
                   .metric;
      const bool better = selectors[k].observe({.epoch = epoch,
                                                .train_loss = m.train_loss,
                                                .val = m.val,
                                                .val_loss = m.val_loss,
                                                .test = m.test});
      if (better && o.restore_best && !split.val.empty()) best[k] = models::snapshot(states[k]);
      r.students[k].history.push_back(m);
      if (on_epoch) on_epoch(k, m);
    }
    if (o.state.every > 0 && epoch % o.state.every == 0 && epoch < o.epochs) save_state(false);
  }
  GKD_CHECK(!epoch_ms.empty(), "[graph cohort] ", joined_reports(guards),
            " (the run ended in its first epoch)");
  if (!resumed.finished) save_state(true);
  std::nth_element(epoch_ms.begin(), epoch_ms.begin() + epoch_ms.size() / 2, epoch_ms.end());
  r.median_epoch_ms = epoch_ms[epoch_ms.size() / 2];
  Tensor test_probs, val_probs, test_labels, val_labels;  // ensemble: mean of softmax outputs
  const auto add_probs = [&](Tensor& sum, Tensor& labels, const models::GraphModel& s,
                             const std::vector<int64_t>& ids) {
    const models::GraphPredictions p = models::predict_graphs(ctx, s, data, ids, o.eval_batch_size);
    const Tensor probs = ops::softmax_rows(Context::cpu(), p.logits.to_dtype(DType::kF64));
    sum = sum.defined() ? ops::add(Context::cpu(), sum, probs) : probs;
    labels = p.labels;
  };
  for (int64_t k = 0; k < k_count; ++k) {
    models::GraphTrainResult& res = r.students[k];
    if (!best[k].empty()) models::restore(states[k], best[k]);
    res.last_test = res.history.back().test;
    if (split.val.empty()) {
      res.best_epoch = res.history.back().epoch;
      res.test = res.last_test;
    } else {
      res.best_epoch = selectors[k].best_epoch();
      res.best_val = selectors[k].best_val();
      res.test = selectors[k].test_at_best();
    }
    res.median_epoch_ms = r.median_epoch_ms;
    res.non_finite = guards[k].report();
    res.skipped_steps = guards[k].skipped_steps();
    add_probs(test_probs, test_labels, *students[k], split.test);
    if (!split.val.empty()) add_probs(val_probs, val_labels, *students[k], split.val);
  }
  r.ensemble_test = models::graph_metric(test_probs, test_labels, o.metric);
  if (!split.val.empty()) r.ensemble_val = models::graph_metric(val_probs, val_labels, o.metric);
  return r;
}

}  // namespace gkd::distill
