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

#include <cstdint>
#include <string>
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
  Tensor history;     // f64 [epoch, columns]: one row per epoch, columns defined by the trainer
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

// Reads file.path into `state` and `refs` when options ask to resume and the file exists (returns
// false otherwise and touches nothing). Every mismatch (tag, names, shapes, history width) throws
// gkd::Error naming the file and the field; the live tensors are only written once everything
// has been checked.
bool load_train_state(const StateFileOptions& file, int64_t history_columns, TrainState* state,
                      const TrainStateRefs& refs);

}  // namespace gkd::models
