// Inductive multi-label node classification over many graphs (PPI): every step trains on a
// block-diagonal batch of `graphs_per_step` training graphs, in a fresh order each epoch, with
// BCE-with-logits; after each epoch the validation and test graphs are scored by micro-F1. The
// defaults are the seed code's (LSP / MSKD / Alignahead, methods.md §1.4): Adam lr 0.005, no
// weight decay, 2 graphs per step.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/io/ppi.h"
#include "models/model.h"
#include "models/step_guard.h"
#include "models/train_state.h"

namespace gkd::models {

struct InductiveTrainOptions {
  int64_t epochs = 500;
  int64_t graphs_per_step = 2;
  double lr = 0.005;
  double weight_decay = 0;
  bool raw_logit_rule = false;    // micro-F1 thresholds the raw logit at 0.5 (the seed code)
  int64_t paper_eval_every = 10;  // the seed code's rule looks every this many epochs
  uint64_t seed = 1;              // graph order and dropout (weights: the model's own seed)
  bool restore_best = true;       // leave the model in its best-validation state
  // A non-finite loss or gradient (models/step_guard.h) ends the run, or skips that step.
  NonFinitePolicy on_non_finite = NonFinitePolicy::kStop;
  // Crash safety (models/train_state.h), as NodeTrainOptions::state: the whole state every
  // state.every epochs and at the end; state.resume continues from it, bit-identical.
  StateFileOptions state;
};

struct InductiveEpochMetrics {
  int64_t epoch = 0;                             // 1-based
  double train_loss = 0;                         // mean over the epoch's steps
  double val_loss = 0, val_f1 = 0, test_f1 = 0;  // micro-F1 in percent
  double epoch_ms = 0;                           // training steps only
};

struct InductiveTrainResult {
  int64_t best_epoch = 0;  // best val F1, ties to the lower val loss, then the earlier epoch
  double best_val_f1 = 0, test_f1 = 0;
  double last_test_f1 = 0;
  // The seed code's rule: every paper_eval_every epochs, a val F1 above the best or a mean train
  // loss below the lowest records the test F1; the last record is reported (optimistic).
  double paper_test_f1 = 0;
  double median_epoch_ms = 0;
  std::string non_finite;     // the first non-finite loss or gradient, named; "" if none
  int64_t skipped_steps = 0;  // steps skipped for one (NonFinitePolicy::kSkipStep)
  int64_t resumed_epoch = 0;  // the epoch a resumed run continued after (0: a fresh run)
  std::vector<InductiveEpochMetrics> history;
};

// The fields of InductiveEpochMetrics a state file's history keeps.
inline constexpr MetricFields<InductiveEpochMetrics, 5> kInductiveEpochFields{
    &InductiveEpochMetrics::train_loss, &InductiveEpochMetrics::val_loss,
    &InductiveEpochMetrics::val_f1, &InductiveEpochMetrics::test_f1,
    &InductiveEpochMetrics::epoch_ms};

// Graphs `ids` of a split as one block-diagonal batch on `device`.
struct InductiveBatch {
  Graph graph;
  io::FeatureMatrix x;  // dense [Σ n, F]
  Tensor y;             // [Σ n, L]
};
InductiveBatch make_inductive_batch(const io::PpiSplit& split, const std::vector<int64_t>& ids,
                                    Device device);
InductiveBatch whole_split(const io::PpiSplit& split, Device device);  // every graph of it

// The graphs of an epoch's steps: a seeded permutation of the training graphs (by seed and
// epoch), cut into groups of graphs_per_step.
std::vector<std::vector<int64_t>> inductive_steps(int64_t train_graphs, int64_t graphs_per_step,
                                                  uint64_t seed, int64_t epoch);

// A term added to every step's BCE (offline distillation from a frozen teacher). It sees the
// step's batch, so that a teacher can run on the same graphs.
struct InductiveExtraLoss {
  // Returns a [1, 1] loss, or an undefined Var for none this epoch.
  std::function<autograd::Var(autograd::Tape& tape, const Graph& batch, const io::FeatureMatrix& x,
                              const ModelOutput& out, int64_t epoch)>
      term;
  std::vector<Parameter*> parameters;  // trained and checkpointed with the model
};

InductiveTrainResult train_inductive(
    const Context& ctx, Model& model, const io::PpiDataset& data,
    const InductiveTrainOptions& options,
    const std::function<void(const InductiveEpochMetrics&)>& on_epoch = {},
    const InductiveExtraLoss& extra = {});

// Loss and micro-F1 of a whole split in eval mode (all its graphs as one batch).
struct InductiveScore {
  double loss = 0, f1 = 0;
};
InductiveScore evaluate_inductive(const Context& ctx, const Model& model, const io::PpiSplit& split,
                                  bool raw_logit_rule);

}  // namespace gkd::models
