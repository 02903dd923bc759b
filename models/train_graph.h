// Mini-batch graph classification: Adam with a step learning-rate decay over batches of graphs,
// evaluation of the validation and test graphs after every epoch, model selection on validation.
// The defaults are Xu et al.'s GIN protocol: 350 epochs of 50 batches of 32 graphs, each batch a
// fresh random subset of the training graphs, lr 0.01 halved every 50 epochs.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/io/graph_dataset.h"
#include "models/graph_model.h"
#include "models/step_guard.h"
#include "models/train_state.h"

namespace gkd::models {

enum class GraphMetric {
  kAccuracy,  // percent of graphs whose argmax is the label
  kRocAuc,    // binary tasks: ROC-AUC ×100 of the class-1 logit margin (OGB's molecule metric)
};

struct GraphTrainOptions {
  int64_t epochs = 350;
  int64_t batch_size = 32;
  // > 0: every epoch draws this many batches, each a uniformly random subset of batch_size
  // training graphs (Xu et al.: 50). 0: one pass over the training graphs in a fresh random order.
  int64_t iters_per_epoch = 50;
  double lr = 0.01;
  double weight_decay = 0;
  int64_t lr_step = 50;  // StepLR: lr ← lr · lr_gamma every lr_step epochs (0: constant)
  double lr_gamma = 0.5;
  int64_t eval_batch_size = 512;  // graphs per evaluation forward
  GraphMetric metric = GraphMetric::kAccuracy;
  uint64_t seed = 1;         // batch draws and dropout (the weights come from the model's own seed)
  bool restore_best = true;  // with val graphs: leave the model in its best state (else the last)
  // A non-finite loss or gradient (models/step_guard.h) ends the run, or skips that step.
  NonFinitePolicy on_non_finite = NonFinitePolicy::kStop;
  // Crash safety (models/train_state.h), as NodeTrainOptions::state: the whole state every
  // state.every epochs and at the end; state.resume continues from it, bit-identical.
  StateFileOptions state;
};

// Sample ids into the dataset. val may be empty (then no selection: the last epoch counts).
struct GraphSplit {
  std::vector<int64_t> train, val, test;
};

struct GraphEpochMetrics {
  int64_t epoch = 0;                       // 1-based
  double train_loss = 0;                   // mean over the epoch's batches
  double val_loss = 0, val = 0, test = 0;  // metric in percent; val fields 0 without val graphs
  double epoch_ms = 0;  // training time of the epoch: batching, forward, backward, optimizer steps
};

// The fields of GraphEpochMetrics a state file's history keeps (models/train_state.h).
inline constexpr MetricFields<GraphEpochMetrics, 5> kGraphEpochFields{
    &GraphEpochMetrics::train_loss, &GraphEpochMetrics::val_loss, &GraphEpochMetrics::val,
    &GraphEpochMetrics::test, &GraphEpochMetrics::epoch_ms};

struct GraphTrainResult {
  // With val graphs: the epoch of the best val metric (ties to the lower val loss, then the earlier
  // epoch) and its test metric. Without: the last epoch.
  int64_t best_epoch = 0;
  double best_val = 0, test = 0;
  double last_test = 0;
  double median_epoch_ms = 0;
  std::string non_finite;     // the first non-finite loss or gradient, named; "" if none
  int64_t skipped_steps = 0;  // steps skipped for one (NonFinitePolicy::kSkipStep)
  int64_t resumed_epoch = 0;  // the epoch a resumed run continued after (0: a fresh run)
  std::vector<GraphEpochMetrics> history;
};

// A term added to every training batch's cross-entropy (offline distillation: a frozen teacher
// runs on the same batch).
struct GraphExtraLoss {
  // Returns a [1, 1] loss, or an undefined Var for none this epoch.
  std::function<autograd::Var(autograd::Tape& tape, const io::GraphBatch& batch,
                              const GraphModelOutput& out, int64_t epoch)>
      term;
  std::vector<autograd::Parameter*> parameters;  // trained and checkpointed with the model
};

GraphTrainResult train_graph_classifier(
    const Context& ctx, GraphModel& model, const io::GraphDataset& data, const GraphSplit& split,
    const GraphTrainOptions& options,
    const std::function<void(const GraphEpochMetrics&)>& on_epoch = {},
    const GraphExtraLoss& extra = {});

// The training batches of one epoch, as sample ids into the dataset: with iters_per_epoch > 0,
// each the first batch_size entries of a fresh permutation of `train` (a uniform subset);
// otherwise `train` in a fresh order cut into batches, a last batch of one graph joining the
// previous one (batch norm needs two rows). Philox-seeded by (options.seed, epoch).
std::vector<std::vector<int64_t>> epoch_batches(const std::vector<int64_t>& train,
                                                const GraphTrainOptions& options, uint64_t epoch);

// The eval-mode logits of the graphs `ids` ([n, C] f32 on the CPU, in `ids` order), their labels
// (i64 [n, 1]) and the mean cross-entropy.
struct GraphPredictions {
  Tensor logits, labels;
  double loss = 0;
};
GraphPredictions predict_graphs(const Context& ctx, const GraphModel& model,
                                const io::GraphDataset& data, const std::vector<int64_t>& ids,
                                int64_t eval_batch_size = 512);
// The metric (percent) of scores [n, C] (logits or probabilities) against labels.
double graph_metric(const Tensor& scores, const Tensor& labels, GraphMetric metric);

// Mean cross-entropy and metric (percent) over the graphs `ids`, in eval mode, in batches.
struct GraphEvaluation {
  double loss = 0, metric = 0;
};
GraphEvaluation evaluate_graph_classifier(const Context& ctx, const GraphModel& model,
                                          const io::GraphDataset& data,
                                          const std::vector<int64_t>& ids, GraphMetric metric,
                                          int64_t eval_batch_size = 512);

// Xu et al.'s cross-validation rule: the epoch whose test metric, averaged over the folds, is
// highest (ties to the earlier epoch); the mean and sample std over folds at that epoch. It selects
// on the test folds, so it is optimistic; it is what the GIN paper reports. curves[f][e] is fold
// f's test metric after epoch e + 1; all folds need the same length.
struct CvSelection {
  int64_t epoch = 0;  // 1-based
  double mean = 0, std = 0;
};
CvSelection select_epoch_by_fold_mean(const std::vector<std::vector<double>>& curves);

}  // namespace gkd::models
