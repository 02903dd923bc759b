// Online distillation on inductive multi-label tasks (PPI, the Alignahead paper's main dataset):
// K students trained together over the same sequence of batches (graphs_per_step training graphs
// per step, a fresh order each epoch), each minimising BCE [+ γ Σ_l BCE(aux_l)] plus the structure
// terms of train_cohort (online.h: oc, alignahead, alignahead++) against its peers' outputs on the
// step's batch. dml and gml compare softmax class distributions, which a multi-label task does
// not have; they are refused. The alternating schedule is the official Alignahead code's: each
// student in turn takes a full pass over the epoch's batches while the others are frozen. Every
// epoch each student is scored by micro-F1 on the validation and test graphs; each is left in its
// best-validation state.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "distill/online.h"
#include "engine/context.h"
#include "engine/io/ppi.h"
#include "models/model.h"
#include "models/train_inductive.h"

namespace gkd::distill {

struct InductiveCohortResult {
  std::vector<models::InductiveTrainResult> students;
  // The ensemble: the mean of the students' label probabilities, thresholded at 0.5.
  double ensemble_test_f1 = 0, ensemble_val_f1 = 0;
  double median_epoch_ms = 0;  // the whole cohort's training steps per epoch
  bool batched = false;        // the students ran as one batch (OnlineOptions::batch_students)
};

InductiveCohortResult train_inductive_cohort(
    const Context& ctx, const std::vector<models::Model*>& students, const io::PpiDataset& data,
    const models::InductiveTrainOptions& options, const OnlineOptions& online,
    const std::function<void(int64_t student, const models::InductiveEpochMetrics&)>& on_epoch =
        {});

}  // namespace gkd::distill
