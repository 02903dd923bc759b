#include "models/train_graph.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <span>

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

std::vector<std::vector<int64_t>> epoch_batches(const std::vector<int64_t>& train,
                                                const GraphTrainOptions& o, uint64_t epoch) {
  const auto n = static_cast<int64_t>(train.size());
  const int64_t size = std::min(o.batch_size, n);
  std::vector<std::vector<int64_t>> out;
  const auto take = [&](const std::vector<int64_t>& order, int64_t begin, int64_t end) {
    std::vector<int64_t> ids;
    for (int64_t k = begin; k < end; ++k) ids.push_back(train[order[k]]);
    return ids;
  };
  if (o.iters_per_epoch > 0) {
    for (int64_t it = 0; it < o.iters_per_epoch; ++it) {
      const uint64_t stream = (epoch << 20) + static_cast<uint64_t>(it);
      out.push_back(take(io::seeded_permutation(n, o.seed, stream), 0, size));
    }
    return out;
  }
  const std::vector<int64_t> order = io::seeded_permutation(n, o.seed, epoch << 20);
  for (int64_t begin = 0; begin < n; begin += size) {
    const int64_t end = n - (begin + size) == 1 ? n : std::min(n, begin + size);
    out.push_back(take(order, begin, end));
    if (end == n) break;
  }
  return out;
}

namespace {

void check_ids(const char* field, const std::vector<int64_t>& ids, int64_t count) {
  for (int64_t id : ids) {
    GKD_CHECK(id >= 0 && id < count, "[train_graph] split.", field, " holds ", id,
              " (expected a sample id in [0, ", count, "))");
  }
}

}  // namespace

GraphTrainResult train_graph_classifier(
    const Context& ctx, GraphModel& model, const io::GraphDataset& data, const GraphSplit& split,
    const GraphTrainOptions& o, const std::function<void(const GraphEpochMetrics&)>& on_epoch,
    const GraphExtraLoss& extra) {
  GKD_CHECK(o.epochs >= 1, "[train_graph] epochs is ", o.epochs, " (expected >= 1)");
  GKD_CHECK(o.batch_size >= 2, "[train_graph] batch_size is ", o.batch_size,
            " (expected >= 2: batch norm needs two graphs)");
  GKD_CHECK(o.iters_per_epoch >= 0 && o.lr_step >= 0 && o.eval_batch_size >= 1,
            "[train_graph] iters_per_epoch, lr_step (>= 0) or eval_batch_size (>= 1) out of range");
  GKD_CHECK(split.train.size() >= 2 && !split.test.empty(), "[train_graph] the split has ",
            split.train.size(), " training and ", split.test.size(),
            " test graphs (expected >= 2 and >= 1)");
  const auto count = static_cast<int64_t>(data.samples.size());
  check_ids("train", split.train, count);
  check_ids("val", split.val, count);
  check_ids("test", split.test, count);
  const TrainedState trained = trained_state(ctx, model, extra.parameters);
  const ModelState& state = trained.live;
  autograd::Adam adam(ctx, trained.parameters, {.lr = o.lr, .weight_decay = o.weight_decay});

  std::vector<Tensor> best_state;
  GraphTrainResult r;
  EpochSelector selector;
  std::vector<double> epoch_ms;
  uint64_t step = 0;
  StepGuard guard(arch_name(model.config().arch), model.named_parameters(), o.on_non_finite);
  bool stopped = false;
  Resumable<GraphEpochMetrics, 5> resumable(o.state, kGraphEpochFields,
                                            {state, best_state, {&adam}});
  TrainState resumed;
  // Replay the recorded epochs: selection and the caller see them as they were.
  stopped = resumable.resume(&resumed, [&](const GraphEpochMetrics& m) {
    guard.check_loss("epoch " + std::to_string(m.epoch), m.train_loss);
    selector.observe({.epoch = m.epoch,
                      .train_loss = m.train_loss,
                      .val = m.val,
                      .val_loss = m.val_loss,
                      .test = m.test});
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
    GraphEpochMetrics m;
    m.epoch = epoch;
    const std::vector<std::vector<int64_t>> batches =
        epoch_batches(split.train, o, static_cast<uint64_t>(epoch));
    double loss_sum = 0, ms_sum = 0;
    for (const std::vector<int64_t>& chosen : batches) {
      const auto t0 = std::chrono::steady_clock::now();
      const io::GraphBatch b = io::make_batch(data, chosen);
      autograd::Tape tape(ctx);
      const GraphModelOutput out =
          model.forward(tape, b, {.training = true, .seed = o.seed, .step = step});
      autograd::Var loss = autograd::cross_entropy(out.logits, b.y.to(ctx.device()));
      if (extra.term) {
        const autograd::Var term = extra.term(tape, b, out, epoch);
        if (term.defined()) loss = autograd::add(loss, term);
      }
      const double loss_value = loss.value().to(Device::kCPU).item<float>();
      const std::string where = "epoch " + std::to_string(epoch) + ", batch " +
                                std::to_string(&chosen - batches.data() + 1);
      stopped = guarded_step(guard, ctx, where, tape, loss, loss_value, adam) ==
                StepGuard::Verdict::kStop;
      if (stopped) break;
      ctx.synchronize();
      ms_sum +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      loss_sum += loss_value;
      ++step;
    }
    if (stopped) break;
    m.train_loss = loss_sum / double(batches.size());
    m.epoch_ms = ms_sum;
    if (o.lr_step > 0 && epoch % o.lr_step == 0) adam.set_lr(adam.lr() * o.lr_gamma);
    if (!split.val.empty()) {
      const GraphEvaluation v =
          evaluate_graph_classifier(ctx, model, data, split.val, o.metric, o.eval_batch_size);
      m.val_loss = v.loss;
      m.val = v.metric;
    }
    m.test =
        evaluate_graph_classifier(ctx, model, data, split.test, o.metric, o.eval_batch_size).metric;
    epoch_ms.push_back(m.epoch_ms);
    const bool better = selector.observe({.epoch = epoch,
                                          .train_loss = m.train_loss,
                                          .val = m.val,
                                          .val_loss = m.val_loss,
                                          .test = m.test});
    if (better && o.restore_best && !split.val.empty()) best_state = snapshot(state);
    r.history.push_back(m);
    if (on_epoch) on_epoch(m);
    if (resumable.due(epoch, o.epochs)) save_state(false);
  }
  GKD_CHECK(!r.history.empty(), "[train_graph] ", guard.report(),
            " (the run ended in its first epoch)");
  if (!resumed.finished) save_state(true);
  r.non_finite = guard.report();
  r.skipped_steps = guard.skipped_steps();
  if (!best_state.empty()) restore(state, best_state);
  r.last_test = r.history.back().test;
  if (split.val.empty()) {  // no selection: the last epoch counts
    r.best_epoch = r.history.back().epoch;
    r.test = r.last_test;
  } else {
    r.best_epoch = selector.best_epoch();
    r.best_val = selector.best_val();
    r.test = selector.test_at_best();
  }
  std::nth_element(epoch_ms.begin(), epoch_ms.begin() + epoch_ms.size() / 2, epoch_ms.end());
  r.median_epoch_ms = epoch_ms[epoch_ms.size() / 2];
  return r;
}

GraphPredictions predict_graphs(const Context& ctx, const GraphModel& model,
                                const io::GraphDataset& data, const std::vector<int64_t>& ids,
                                int64_t eval_batch_size) {
  GKD_CHECK(!ids.empty() && eval_batch_size >= 1, "[evaluate_graph] ", ids.size(),
            " graphs, eval_batch_size ", eval_batch_size, " (expected >= 1 each)");
  std::vector<float> logits;
  std::vector<int64_t> labels;
  double loss_sum = 0;
  for (size_t at = 0; at < ids.size(); at += static_cast<size_t>(eval_batch_size)) {
    const size_t end = std::min(ids.size(), at + static_cast<size_t>(eval_batch_size));
    const io::GraphBatch b =
        io::make_batch(data, std::span<const int64_t>(ids).subspan(at, end - at));
    autograd::Tape tape(ctx);
    autograd::NoGrad no_grad(tape);
    const GraphModelOutput out = model.forward(tape, b, {.training = false});
    const Tensor y = b.y.to(ctx.device());
    loss_sum += autograd::cross_entropy(out.logits, y).value().to(Device::kCPU).item<float>() *
                double(end - at);
    const std::vector<float> l =
        out.logits.value().to(Device::kCPU).to_dtype(DType::kF32).to_vector<float>();
    logits.insert(logits.end(), l.begin(), l.end());
    const std::vector<int64_t> lab = b.y.to_vector<int64_t>();
    labels.insert(labels.end(), lab.begin(), lab.end());
  }
  const auto n = static_cast<int64_t>(labels.size());
  return {.logits = Tensor::from_vector<float>(n, model.config().out_dim, logits),
          .labels = Tensor::from_vector<int64_t>(n, 1, labels),
          .loss = loss_sum / double(n)};
}

double graph_metric(const Tensor& scores, const Tensor& labels, GraphMetric metric) {
  if (metric == GraphMetric::kAccuracy) return accuracy(scores, labels);
  GKD_CHECK(scores.cols() == 2, "[train_graph] roc_auc needs a binary task (got ", scores.cols(),
            " classes)");
  const std::vector<double> s = scores.to(Device::kCPU).to_dtype(DType::kF64).to_vector<double>();
  const int64_t n = scores.rows();
  std::vector<double> margin(static_cast<size_t>(n));  // class 1 against class 0: only order counts
  for (int64_t i = 0; i < n; ++i) margin[i] = s[i * 2 + 1] - s[i * 2];
  return roc_auc(Tensor::from_vector<double>(n, 1, margin), labels);
}

GraphEvaluation evaluate_graph_classifier(const Context& ctx, const GraphModel& model,
                                          const io::GraphDataset& data,
                                          const std::vector<int64_t>& ids, GraphMetric metric,
                                          int64_t eval_batch_size) {
  const GraphPredictions p = predict_graphs(ctx, model, data, ids, eval_batch_size);
  return {.loss = p.loss, .metric = graph_metric(p.logits, p.labels, metric)};
}

CvSelection select_epoch_by_fold_mean(const std::vector<std::vector<double>>& curves) {
  GKD_CHECK(!curves.empty() && !curves.front().empty(), "[cv] no fold curves given");
  const size_t epochs = curves.front().size();
  for (const auto& c : curves) {
    GKD_CHECK(c.size() == epochs, "[cv] fold curves differ in length (", c.size(), " vs ", epochs,
              ")");
  }
  const auto folds = static_cast<double>(curves.size());
  CvSelection best;
  for (size_t e = 0; e < epochs; ++e) {
    double sum = 0;
    for (const auto& c : curves) sum += c[e];
    const double mean = sum / folds;
    if (best.epoch == 0 || mean > best.mean) {
      best.epoch = static_cast<int64_t>(e) + 1;
      best.mean = mean;
    }
  }
  double ss = 0;
  for (const auto& c : curves) {
    const double d = c[best.epoch - 1] - best.mean;
    ss += d * d;
  }
  best.std = curves.size() > 1 ? std::sqrt(ss / (folds - 1)) : 0.0;
  return best;
}

}  // namespace gkd::models
