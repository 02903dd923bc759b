// Online distillation on graph classification (GML's graph tasks: OGB molecules, TU datasets): a
// cohort of graph models trained together on the same mini-batches, each minimising the terms of
// train_cohort (online.h) per batch of graphs with the peers' outputs as fixed references:
//   dml, gml: CE(z_m) [− γ_H · H(softmax(z_m/T))] + λ · T²/(K−1) Σ_p KL(softmax(z̃_p/T) ‖
//             softmax(z̃_m/T)) on the graphs' logits (z̃: the adaptive logit weighting, one χ
//             row per graph of the dataset);
//   oc, alignahead(++): CE(z_m) + λ/(K−1) Σ_p Σ_t KL(P(h_p^(t')) ‖ P(h_m^(t))), the local
//             structures of the message-passing layers' node states over the batch's edges, t'
//             = t (oc) or t + shift mod L; alignahead++ adds the feature distance and each
//             auxiliary head's CE (a classifier on the readout of every intermediate layer).
// The graph models' hidden layers are all L message-passing layers (the logits are a readout).
// Schedules as train_cohort: simultaneous (one forward of every student per batch, one backward
// of the summed losses) or alternating (each student in turn a full pass over the epoch's
// batches against the others' current state in eval mode).
#pragma once

#include <functional>

#include <vector>

#include "distill/online.h"
#include "models/graph_model.h"
#include "models/train_graph.h"

namespace gkd::distill {

struct GraphCohortResult {
  std::vector<models::GraphTrainResult> students;  // best-validation selection per student
  double ensemble_test = 0;  // the mean of the students' softmax outputs on the test graphs
  double ensemble_val = 0;   // ... on the validation graphs (0 without any)
  double median_epoch_ms = 0;
  bool batched = false;  // the students ran as one batch (OnlineOptions::batch_students)
};

// Structure methods need one architecture (their layers are paired). Each student has its own
// Adam with options.lr / weight_decay and the StepLR schedule; each is left in its
// best-validation state when the split has validation graphs. `on_epoch(k, metrics)` sees every
// student's epoch (replayed ones too, when options.state resumes).
GraphCohortResult train_graph_cohort(
    const Context& ctx, const std::vector<models::GraphModel*>& students,
    const io::GraphDataset& data, const models::GraphSplit& split,
    const models::GraphTrainOptions& options, const OnlineOptions& online,
    const std::function<void(int64_t student, const models::GraphEpochMetrics&)>& on_epoch = {});

}  // namespace gkd::distill
