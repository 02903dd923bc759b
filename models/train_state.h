// A trainer's state at an epoch boundary in one checkpoint file (engine/io/checkpoint.h: versioned,
// checksummed, written atomically), so that a killed run continues where it stopped and ends
// bit-identical to an uninterrupted one on the same device and thread count.
//
// What is stored: the epoch, the live tensors (model parameters and buffers, and any extra trained
// parameters), the optimizer's state (moments, step counts, lr), the best-validation snapshot and
// the per-epoch history. Nothing else is needed: selection and divergence are replayed from the
// history, and dropout masks and batch draws are counter-based (seed with epoch or step), so there
// is no RNG state to carry.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autograd/optim.h"
#include "engine/tensor.h"
#include "models/checkpoint.h"

namespace gkd::models {

// Where and how often a trainer writes its state. The state is written every `every` epochs
// (0: never during the run) and once the run ends; with `resume`, an existing file is read first
// and training continues from it.
struct StateFileOptions {
  std::string path;  // empty: no state file
  int64_t every = 0;
  bool resume = false;
  // The caller's identity of the run (e.g. its resolved config and seed): a resumed file must
  // carry the same tag, so a state is never continued under another configuration.
  std::string tag;
};

struct TrainState {
  int64_t epoch = 0;      // epochs completed
  bool finished = false;  // the trainer returned after `epoch` (last epoch, patience, divergence)
  int64_t diverged_epoch = 0;
  int64_t steps = 0;  // optimizer steps so far (mini-batch trainers key dropout on the step)
  Tensor history{};   // f64 [epoch, columns]: one row per epoch, columns defined by the trainer
};

// The tensors a state file carries: `live` (by name) is read back in place; `best` is the
// best-validation snapshot of the first best.size() live tensors (empty when none was taken yet);
// each optimizer owns its own entries (a cohort has one per student).
struct TrainStateRefs {
  const ModelState& live;
  std::vector<Tensor>& best;
  std::vector<autograd::Optimizer*> optimizers;
};

void save_train_state(const StateFileOptions& file, const TrainState& state,
                      const TrainStateRefs& refs);

// What a trainer steps and checkpoints when a loss brings its own parameters (a FitNet
// projection): moves the model and `extra` to ctx's device and returns the parameters to optimise
// (the model's, then extra) and the live state (the model's, then extra as "extra.<i>").
struct TrainedState {
  std::vector<autograd::Parameter*> parameters;
  ModelState live;
};
TrainedState trained_state(const Context& ctx, const Model& model,
                           const std::vector<autograd::Parameter*>& extra);
// The same for a graph model (its batch-norm buffers move too, and are part of the live state).
TrainedState trained_state(const Context& ctx, const GraphModel& model,
                           const std::vector<autograd::Parameter*>& extra);

// A trainer's per-epoch metrics (a struct with an int64 `epoch` and double fields) as the history
// of a state file: one row per epoch, the epoch then `fields` in order. A cohort keeps its
// students' histories side by side, one block of columns each.
template <class M, size_t N>
using MetricFields = std::array<double M::*, N>;

template <class M, size_t N>
constexpr int64_t history_width(const MetricFields<M, N>&) {
  return static_cast<int64_t>(N) + 1;
}

// blocks[k] is block k; every block holds the same number of epochs.
template <class M, size_t N>
Tensor history_tensor(const std::vector<const std::vector<M>*>& blocks,
                      const MetricFields<M, N>& fields) {
  const size_t epochs = blocks.empty() ? 0 : blocks.front()->size();
  std::vector<double> v;
  for (size_t e = 0; e < epochs; ++e) {
    for (const std::vector<M>* block : blocks) {
      const M& m = (*block)[e];
      v.push_back(static_cast<double>(m.epoch));
      for (double M::*f : fields) v.push_back(m.*f);
    }
  }
  return Tensor::from_vector<double>(
      static_cast<int64_t>(epochs), history_width(fields) * static_cast<int64_t>(blocks.size()), v);
}

// The rows of block `block` of a history tensor.
template <class M, size_t N>
std::vector<M> history_rows(const Tensor& history, const MetricFields<M, N>& fields,
                            int64_t block = 0) {
  const std::vector<double> v = history.to_vector<double>();
  const auto width = static_cast<size_t>(history.cols());
  std::vector<M> out;
  for (size_t i = static_cast<size_t>(block * history_width(fields)); i < v.size(); i += width) {
    M m{};
    m.epoch = static_cast<int64_t>(v[i]);
    for (size_t f = 0; f < N; ++f) m.*fields[f] = v[i + 1 + f];
    out.push_back(m);
  }
  return out;
}

// Reads file.path into `state` and `refs` when options ask to resume and the file exists (returns
// false otherwise and touches nothing). Every mismatch (tag, names, shapes, history width) throws
// gkd::Error naming the file and the field; the live tensors are only written once everything
// has been checked.
bool load_train_state(const StateFileOptions& file, int64_t history_columns, TrainState* state,
                      const TrainStateRefs& refs);

// One trainer's resumable state: its history codec, its tensors and its state file in one place.
//
//   Resumable<GraphEpochMetrics, 5> resumable(o.state, kGraphEpochFields, refs);
//   TrainState resumed;
//   resumable.resume(&resumed, [&](const GraphEpochMetrics& m) { /* replay epoch m */ });
//   for (epoch = resumed.epoch + 1; ...) { ...; if (resumable.due(epoch, o.epochs)) save; }
//   resumable.save(history, {.finished = true, .steps = steps});
template <class M, size_t N>
class Resumable {
 public:
  Resumable(const StateFileOptions& file, const MetricFields<M, N>& fields, TrainStateRefs refs)
      : file_(file), fields_(fields), refs_(std::move(refs)) {}

  // Loads the state file when resuming and replays its epochs in order; false when there is none.
  template <class Replay>
  bool resume(TrainState* state, const Replay& replay) {
    if (!load_train_state(file_, history_width(fields_), state, refs_)) return false;
    for (const M& m : history_rows(state->history, fields_)) replay(m);
    return true;
  }
  // True after the epochs at which a state is written during the run (the end is written apart).
  bool due(int64_t epoch, int64_t epochs) const {
    return !file_.path.empty() && file_.every > 0 && epoch % file_.every == 0 && epoch < epochs;
  }
  // `state`'s epoch and history are taken from `history`; the rest as given.
  void save(const std::vector<M>& history, TrainState state) {
    if (file_.path.empty()) return;
    state.epoch = static_cast<int64_t>(history.size());
    state.history = history_tensor({&history}, fields_);
    save_train_state(file_, state, refs_);
  }

 private:
  const StateFileOptions& file_;
  const MetricFields<M, N>& fields_;
  TrainStateRefs refs_;
};

}  // namespace gkd::models
