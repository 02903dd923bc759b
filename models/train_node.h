// Full-batch node classification: one optimizer step per epoch on the training nodes, evaluation
// of every split after each step, model selection on the validation split.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/context.h"
#include "engine/io/node_dataset.h"
#include "models/model.h"
#include "models/step_guard.h"
#include "models/train_state.h"

namespace gkd::models {

struct NodeTrainOptions {
  int64_t epochs = 200;
  double lr = 0.01;
  double weight_decay = 5e-4;  // L2, as torch.optim.Adam's weight_decay, on every parameter
  // Stop when the validation accuracy has not improved for this many epochs (0: never).
  int64_t patience = 0;
  uint64_t seed = 1;  // dropout masks (the weights come from the model's own seed)
  // The seed code's rule (methods.md §1.4) looks every paper_eval_every epochs.
  int64_t paper_eval_every = 10;
  bool restore_best = true;   // leave the model in its best-validation state (else the last)
  double clip_grad_norm = 0;  // > 0: clip the global gradient norm to this before each step
  // Divergence (models/selection.h DivergenceMonitor): a non-finite training loss always ends
  // the run before its step; with divergence_jump > 0 a loss above divergence_jump × the lowest so
  // far is reported, and ends the run when stop_on_divergence. The best state is kept either way.
  double divergence_jump = 0;
  bool stop_on_divergence = false;
  // A non-finite loss or gradient (models/step_guard.h) never reaches the parameters: the run
  // ends there (kStop), or that step is skipped (kSkipStep; five skips in a row end the run).
  NonFinitePolicy on_non_finite = NonFinitePolicy::kStop;
  // Crash safety (models/train_state.h): the trainer's whole state is written to state.path every
  // state.every epochs and when the run ends; with state.resume the run continues from that file,
  // first replaying the recorded epochs through on_epoch, and ends bit-identical to an
  // uninterrupted run on the same device and thread count.
  StateFileOptions state;
};

struct EpochMetrics {
  int64_t epoch = 0;  // 1-based
  double train_loss = 0, val_loss = 0;
  double train_acc = 0, val_acc = 0, test_acc = 0;  // percent, evaluated after the step
  double step_ms = 0;  // forward + backward + optimizer step (evaluation excluded)
};

struct NodeTrainResult {
  // Selection: the epoch with the highest validation accuracy, ties to the lower validation loss,
  // then to the earlier epoch. Its test accuracy is the reported number.
  int64_t best_epoch = 0;
  double best_val_acc = 0, test_acc = 0;
  double last_test_acc = 0;  // at the final epoch, for comparison
  // The seed code's rule (LSP / MSKD / Alignahead, methods.md §1.4): every paper_eval_every
  // epochs, if the val accuracy beats the best so far *or* the train loss is below the lowest so
  // far, the test accuracy is recorded (and both bests updated); the last recorded one is
  // reported. It peeks at the test set whenever the loss drops, so it is optimistic.
  double paper_test_acc = 0;
  int64_t epochs_run = 0;
  int64_t diverged_epoch = 0;  // the first diverging epoch, 0 if none
  int64_t resumed_epoch = 0;   // the epoch a resumed run continued after (0: a fresh run)
  std::string non_finite;      // the first non-finite loss or gradient, named; "" if none
  int64_t skipped_steps = 0;   // steps skipped for one (NonFinitePolicy::kSkipStep)
  double median_step_ms = 0;
  std::vector<EpochMetrics> history;
};

// The fields of EpochMetrics a state file's history keeps (models/train_state.h).
inline constexpr MetricFields<EpochMetrics, 6> kEpochFields{
    &EpochMetrics::train_loss, &EpochMetrics::val_loss, &EpochMetrics::train_acc,
    &EpochMetrics::val_acc,    &EpochMetrics::test_acc, &EpochMetrics::step_ms};

// What a caller adds to the supervised objective (distillation): a term computed from the step's
// model output, and the parameters it trains besides the model's (e.g. a FitNet projection).
struct ExtraLoss {
  // Returns a [1, 1] loss added to the cross-entropy, or an undefined Var for none this epoch.
  std::function<autograd::Var(autograd::Tape& tape, const ModelOutput& out, int64_t epoch)> term;
  std::vector<Parameter*> parameters;
};

// Trains `model` on `data` (both already on ctx's device or moved there by the call).
// `on_epoch` sees every epoch's metrics as they come (progress lines, metrics.jsonl).
NodeTrainResult train_node_classifier(const Context& ctx, Model& model, const io::NodeDataset& data,
                                      const NodeTrainOptions& options,
                                      const std::function<void(const EpochMetrics&)>& on_epoch = {},
                                      const ExtraLoss& extra = {});

}  // namespace gkd::models
