// The state file of a cohort (models/train_state.h), shared by the node and graph cohort trainers:
// every student's tensors and ALW factors as one list of live tensors, the students' best
// snapshots as one flat list, their optimizers in order, their histories side by side.
#pragma once

#include <memory>
#include <vector>

#include "autograd/optim.h"
#include "distill/alw.h"
#include "engine/tensor.h"
#include "models/checkpoint.h"
#include "models/train_state.h"

namespace gkd::distill {

class CohortState {
 public:
  // `states[k]` is student k's model state, `best[k]` its best snapshot (kept up to date by the
  // trainer), `alw[k]` its ALW factors (may be empty). All must outlive this object.
  CohortState(const std::vector<models::ModelState>& states, std::vector<std::vector<Tensor>>& best,
              const std::vector<Alw>& alw,
              const std::vector<std::unique_ptr<autograd::Adam>>& optimizers);

  // As load_train_state; on success also fills best[k] from the file.
  bool load(const models::StateFileOptions& file, int64_t history_columns,
            models::TrainState* state);
  // As save_train_state, with best[k] as they are now.
  void save(const models::StateFileOptions& file, const models::TrainState& state);

 private:
  const std::vector<models::ModelState>& states_;
  std::vector<std::vector<Tensor>>& best_;
  models::ModelState live_;
  std::vector<Tensor> best_flat_;
  std::vector<autograd::Optimizer*> optimizers_;
};

}  // namespace gkd::distill
