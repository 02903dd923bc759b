#include "models/train_inductive.h"

#include <algorithm>
#include <chrono>

#include "autograd/functions_dense.h"
#include "autograd/functions_loss.h"
#include "autograd/optim.h"
#include "engine/error.h"
#include "engine/io/splits.h"
#include "models/checkpoint.h"
#include "models/metrics.h"
#include "models/selection.h"
#include "models/train_state.h"

namespace gkd::models {

InductiveBatch make_inductive_batch(const io::PpiSplit& split, const std::vector<int64_t>& ids,
                                    Device device) {
  std::vector<Graph> graphs;
  std::vector<const Tensor*> xs, ys;
  for (int64_t g : ids) {
    graphs.push_back(split.graphs[g]);
    xs.push_back(&split.x[g]);
    ys.push_back(&split.y[g]);
  }
  InductiveBatch b{
      .graph = Graph::batch(graphs).to(device), .x = {}, .y = concat_rows(ys).to(device)};
  b.x.dense = concat_rows(xs).to(device);
  return b;
}

InductiveBatch whole_split(const io::PpiSplit& split, Device device) {
  std::vector<int64_t> ids(split.graphs.size());
  for (size_t g = 0; g < ids.size(); ++g) ids[g] = static_cast<int64_t>(g);
  return make_inductive_batch(split, ids, device);
}

std::vector<std::vector<int64_t>> inductive_steps(int64_t train_graphs, int64_t graphs_per_step,
                                                  uint64_t seed, int64_t epoch) {
  const std::vector<int64_t> order =
      io::seeded_permutation(train_graphs, seed, static_cast<uint64_t>(epoch));
  std::vector<std::vector<int64_t>> steps;
  for (int64_t begin = 0; begin < train_graphs; begin += graphs_per_step) {
    steps.emplace_back(order.begin() + begin,
                       order.begin() + std::min(train_graphs, begin + graphs_per_step));
  }
  return steps;
}

InductiveScore evaluate_inductive(const Context& ctx, const Model& model, const io::PpiSplit& split,
                                  bool raw_logit_rule) {
  GKD_CHECK(!split.graphs.empty(), "[evaluate_inductive] the split has no graphs");
  const InductiveBatch b = whole_split(split, ctx.device());
  autograd::Tape tape(ctx);
  autograd::NoGrad no_grad(tape);
  const ModelOutput out = model.forward(tape, b.graph, b.x, {.training = false});
  const double loss =
      autograd::bce_with_logits(out.logits, b.y).value().to(Device::kCPU).item<float>();
  return {loss,
          micro_f1(out.logits.value().to(Device::kCPU), b.y.to(Device::kCPU), {}, raw_logit_rule)};
}

InductiveTrainResult train_inductive(
    const Context& ctx, Model& model, const io::PpiDataset& data, const InductiveTrainOptions& o,
    const std::function<void(const InductiveEpochMetrics&)>& on_epoch,
    const InductiveExtraLoss& extra) {
  GKD_CHECK(o.epochs >= 1 && o.graphs_per_step >= 1 && o.paper_eval_every >= 1,
            "[train_inductive] epochs ", o.epochs, ", graphs_per_step ", o.graphs_per_step,
            ", paper_eval_every ", o.paper_eval_every, " (expected >= 1 each)");
  GKD_CHECK(!data.train.graphs.empty() && !data.valid.graphs.empty() && !data.test.graphs.empty(),
            "[train_inductive] every split needs at least one graph");
  const TrainedState trained = trained_state(ctx, model, extra.parameters);
  const ModelState& state = trained.live;
  autograd::Adam adam(ctx, trained.parameters, {.lr = o.lr, .weight_decay = o.weight_decay});
  std::vector<Tensor> best_state;

  const auto n_train = static_cast<int64_t>(data.train.graphs.size());
  InductiveTrainResult r;
  EpochSelector selector(o.paper_eval_every);
  std::vector<double> epoch_ms;
  uint64_t step = 0;
  StepGuard guard(arch_name(model.config().arch), model.named_parameters(), o.on_non_finite);
  bool stopped = false;
  Resumable<InductiveEpochMetrics, 5> resumable(o.state, kInductiveEpochFields,
                                                {state, best_state, {&adam}});
  TrainState resumed;
  // Replay the recorded epochs: selection and the caller see them as they were.
  stopped = resumable.resume(&resumed, [&](const InductiveEpochMetrics& m) {
    guard.check_loss("epoch " + std::to_string(m.epoch), m.train_loss);
    selector.observe({.epoch = m.epoch,
                      .train_loss = m.train_loss,
                      .val = m.val_f1,
                      .val_loss = m.val_loss,
                      .test = m.test_f1});
    epoch_ms.push_back(m.epoch_ms);
    r.history.push_back(m);
    if (on_epoch) on_epoch(m);
  }) && resumed.finished;
  step = static_cast<uint64_t>(resumed.steps);
  r.resumed_epoch = resumed.epoch;
  const auto save_state = [&](bool done) {
    resumable.save(r.history, {.finished = done, .steps = static_cast<int64_t>(step)});
  };
  for (int64_t epoch = resumed.epoch + 1; !stopped && epoch <= o.epochs; ++epoch) {
    InductiveEpochMetrics m;
    m.epoch = epoch;
    double loss_sum = 0;
    int64_t steps = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (const std::vector<int64_t>& ids :
         inductive_steps(n_train, o.graphs_per_step, o.seed, epoch)) {
      const InductiveBatch b = make_inductive_batch(data.train, ids, ctx.device());
      autograd::Tape tape(ctx);
      const ModelOutput out =
          model.forward(tape, b.graph, b.x, {.training = true, .seed = o.seed, .step = step});
      autograd::Var loss = autograd::bce_with_logits(out.logits, b.y);
      if (extra.term) {
        const autograd::Var term = extra.term(tape, b.graph, b.x, out, epoch);
        if (term.defined()) loss = autograd::add(loss, term);
      }
      const double loss_value = loss.value().to(Device::kCPU).item<float>();
      const std::string where =
          "epoch " + std::to_string(epoch) + ", step " + std::to_string(steps + 1);
      stopped = guarded_step(guard, ctx, where, tape, loss, loss_value, adam) ==
                StepGuard::Verdict::kStop;
      if (stopped) break;
      loss_sum += loss_value;
      ++steps;
      ++step;
    }
    if (stopped) break;
    ctx.synchronize();
    m.epoch_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    m.train_loss = loss_sum / double(steps);
    const InductiveScore val = evaluate_inductive(ctx, model, data.valid, o.raw_logit_rule);
    m.val_loss = val.loss;
    m.val_f1 = val.f1;
    m.test_f1 = evaluate_inductive(ctx, model, data.test, o.raw_logit_rule).f1;
    epoch_ms.push_back(m.epoch_ms);
    if (selector.observe({.epoch = epoch,
                          .train_loss = m.train_loss,
                          .val = m.val_f1,
                          .val_loss = m.val_loss,
                          .test = m.test_f1}) &&
        o.restore_best) {
      best_state = snapshot(state);
    }
    r.history.push_back(m);
    if (on_epoch) on_epoch(m);
    if (resumable.due(epoch, o.epochs)) save_state(false);
  }
  GKD_CHECK(!r.history.empty(), "[train_inductive] ", guard.report(),
            " (the run ended in its first epoch)");
  if (!resumed.finished) save_state(true);
  if (o.restore_best) restore(state, best_state);
  r.non_finite = guard.report();
  r.skipped_steps = guard.skipped_steps();
  r.last_test_f1 = r.history.back().test_f1;
  r.best_epoch = selector.best_epoch();
  r.best_val_f1 = selector.best_val();
  r.test_f1 = selector.test_at_best();
  r.paper_test_f1 = selector.paper_test();
  std::nth_element(epoch_ms.begin(), epoch_ms.begin() + epoch_ms.size() / 2, epoch_ms.end());
  r.median_epoch_ms = epoch_ms[epoch_ms.size() / 2];
  return r;
}

}  // namespace gkd::models
