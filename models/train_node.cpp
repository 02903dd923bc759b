#include "models/train_node.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "autograd/functions_dense.h"
#include "autograd/functions_loss.h"
#include "autograd/optim.h"
#include "engine/error.h"
#include "models/checkpoint.h"
#include "models/metrics.h"
#include "models/selection.h"

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
  for (Parameter* p : model.parameters()) p->value = p->value.to(ctx.device());
  std::vector<Parameter*> params = model.parameters();
  for (Parameter* p : extra.parameters) {
    p->value = p->value.to(ctx.device());
    params.push_back(p);
  }
  autograd::Adam adam(ctx, params, {.lr = o.lr, .weight_decay = o.weight_decay});

  const ModelState state = model_state(model);
  std::vector<Tensor> best_state;
  NodeTrainResult r;
  EpochSelector selector(o.paper_eval_every);
  std::vector<double> step_ms;
  DivergenceMonitor divergence(o.divergence_jump);
  for (int64_t epoch = 1; epoch <= o.epochs; ++epoch) {
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
      // A non-finite loss would poison every parameter: stop before the step.
      if (divergence.observe(epoch, m.train_loss) &&
          (!std::isfinite(m.train_loss) || o.stop_on_divergence)) {
        break;
      }
      adam.zero_grad();
      tape.backward(loss);
      if (o.clip_grad_norm > 0) autograd::clip_grad_norm(ctx, params, o.clip_grad_norm);
      adam.step();
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
      best_state = snapshot(state);
    }
    r.history.push_back(m);
    if (on_epoch) on_epoch(m);
    if (o.patience > 0 && epoch - selector.best_epoch() >= o.patience) break;
  }
  GKD_CHECK(!r.history.empty(), "[train] the training loss was not finite in epoch 1");
  if (o.restore_best) restore(state, best_state);
  r.epochs_run = static_cast<int64_t>(r.history.size());
  r.last_test_acc = r.history.back().test_acc;
  r.diverged_epoch = divergence.epoch();
  r.best_epoch = selector.best_epoch();
  r.best_val_acc = selector.best_val();
  r.test_acc = selector.test_at_best();
  r.paper_test_acc = selector.paper_test();
  std::nth_element(step_ms.begin(), step_ms.begin() + step_ms.size() / 2, step_ms.end());
  r.median_step_ms = step_ms[step_ms.size() / 2];
  return r;
}

}  // namespace gkd::models
