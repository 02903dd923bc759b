#include "models/train_node.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "autograd/functions_dense.h"
#include "autograd/functions_loss.h"
#include "autograd/optim.h"
#include "engine/error.h"
#include "models/checkpoint.h"
#include "models/metrics.h"
#include "models/selection.h"
#include "models/step_guard.h"

namespace gkd::models {

NodeTrainResult train_node_classifier(const Context& ctx, Model& model, const io::NodeDataset& data,
                                      const NodeTrainOptions& o,
                                      const std::function<void(const EpochMetrics&)>& on_epoch,
                                      const ExtraLoss& extra) {
  GKD_CHECK(o.epochs >= 1, "[train] epochs is ", o.epochs, " (expected >= 1)");
  GKD_CHECK(o.patience >= 0, "[train] patience is ", o.patience, " (expected >= 0)");
  const Graph g = data.graph.to(ctx.device());
  const io::FeatureMatrix x = data.x.to(ctx.device());
  const Tensor y = data.y.to(ctx.device());
  const Tensor train_mask = data.train_mask.to(ctx.device());
  const Tensor val_mask = data.val_mask.to(ctx.device());
  // The model's state, then the extra parameters; the best snapshot covers all.
  const TrainedState trained = trained_state(ctx, model, extra.parameters);
  const ModelState& live = trained.live;
  autograd::Adam adam(ctx, trained.parameters, {.lr = o.lr, .weight_decay = o.weight_decay});
  std::vector<Tensor> best_state;
  NodeTrainResult r;
  EpochSelector selector(o.paper_eval_every);
  std::vector<double> step_ms;
  DivergenceMonitor divergence(o.divergence_jump);
  StepGuard guard(arch_name(model.config().arch), model.named_parameters(), o.on_non_finite);
  Resumable<EpochMetrics, 6> resumable(o.state, kEpochFields, {live, best_state, {&adam}});
  TrainState resumed;
  // Replay the recorded epochs: selection, divergence and the caller see them as they were.
  const bool finished = resumable.resume(&resumed, [&](const EpochMetrics& m) {
    // A skipped step left a non-finite loss in the history (a skip for a gradient leaves none).
    guard.check_loss("epoch " + std::to_string(m.epoch), m.train_loss);
    divergence.observe(m.epoch, m.train_loss);
    selector.observe({.epoch = m.epoch,
                      .train_loss = m.train_loss,
                      .val = m.val_acc,
                      .val_loss = m.val_loss,
                      .test = m.test_acc});
    step_ms.push_back(m.step_ms);
    r.history.push_back(m);
    if (on_epoch) on_epoch(m);
  }) && resumed.finished;
  r.resumed_epoch = resumed.epoch;
  const auto save_state = [&](bool done) {
    resumable.save(r.history, {.finished = done, .diverged_epoch = divergence.epoch()});
  };
  for (int64_t epoch = resumed.epoch + 1; !finished && epoch <= o.epochs; ++epoch) {
    EpochMetrics m;
    m.epoch = epoch;
    {
      const auto t0 = std::chrono::steady_clock::now();
      autograd::Tape tape(ctx);
      const ModelOutput out = model.forward(
          tape, g, x, {.training = true, .seed = o.seed, .step = static_cast<uint64_t>(epoch)});
      autograd::Var loss = autograd::cross_entropy(out.logits, y, train_mask);
      if (extra.term) {
        const autograd::Var term = extra.term(tape, out, epoch);
        if (term.defined()) loss = autograd::add(loss, term);
      }
      m.train_loss = loss.value().to(Device::kCPU).item<float>();
      const std::string where = "epoch " + std::to_string(epoch);
      // A non-finite loss or gradient would poison every parameter: it never reaches a step.
      const bool jumped = divergence.observe(epoch, m.train_loss);
      if (jumped && std::isfinite(m.train_loss) && o.stop_on_divergence) break;
      if (guarded_step(guard, ctx, where, tape, loss, m.train_loss, adam, o.clip_grad_norm) ==
          StepGuard::Verdict::kStop) {
        break;
      }
      ctx.synchronize();
      m.step_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
    {
      autograd::Tape tape(ctx);
      autograd::NoGrad no_grad(tape);
      const ModelOutput out = model.forward(tape, g, x, {.training = false});
      m.val_loss =
          autograd::cross_entropy(out.logits, y, val_mask).value().to(Device::kCPU).item<float>();
      const Tensor logits = out.logits.value().to(Device::kCPU);
      m.train_acc = accuracy(logits, data.y, data.train_mask);
      m.val_acc = accuracy(logits, data.y, data.val_mask);
      m.test_acc = accuracy(logits, data.y, data.test_mask);
    }
    step_ms.push_back(m.step_ms);
    if (selector.observe({.epoch = epoch,
                          .train_loss = m.train_loss,
                          .val = m.val_acc,
                          .val_loss = m.val_loss,
                          .test = m.test_acc}) &&
        o.restore_best) {
      best_state = snapshot(live);
    }
    r.history.push_back(m);
    if (on_epoch) on_epoch(m);
    if (o.patience > 0 && epoch - selector.best_epoch() >= o.patience) break;
    if (resumable.due(epoch, o.epochs)) save_state(false);
  }
  GKD_CHECK(!r.history.empty(), "[train] ", guard.report(), " (the run ended in its first epoch)");
  if (!finished) save_state(true);
  if (o.restore_best) restore(live, best_state);
  r.epochs_run = static_cast<int64_t>(r.history.size());
  r.last_test_acc = r.history.back().test_acc;
  // A run that stopped on a non-finite loss never recorded that epoch: the state file names it.
  r.diverged_epoch = divergence.epoch() != 0 ? divergence.epoch() : resumed.diverged_epoch;
  r.non_finite = guard.report();
  r.skipped_steps = guard.skipped_steps();
  r.best_epoch = selector.best_epoch();
  r.best_val_acc = selector.best_val();
  r.test_acc = selector.test_at_best();
  r.paper_test_acc = selector.paper_test();
  std::nth_element(step_ms.begin(), step_ms.begin() + step_ms.size() / 2, step_ms.end());
  r.median_step_ms = step_ms[step_ms.size() / 2];
  return r;
}

}  // namespace gkd::models
