// Online distillation on node classification: a cohort of K students of one architecture trained
// together, with no pre-trained teacher. Student m minimises
//   CE(z_m) [+ γ Σ_l CE(aux_l)] + λ / (K−1) · Σ_{p≠m} term(m ← p)
// with the peers' outputs as fixed references (no gradient flows into a peer through m's term):
//   dml:          T² KL(softmax(z_p/T) ‖ softmax(z_m/T)), mean over every node (Zhang et al.)
//   oc:           Σ_t KL(P(h_p^(t)) ‖ P(h_m^(t))), local structures of the same hidden layer
//   alignahead:   Σ_t KL(P(h_p^(t+s mod L)) ‖ P(h_m^(t))), a peer layer at another depth,
//                 s = --shift: +1 as the paper and its figure (layer t learns from the peer's
//                 t+1), −1 as the official code (layer t+1 learns from the peer's t)
//   alignahead++: alignahead + β · feature distance between the same aligned layers (mse,
//                 normalised mse or cosine) + deep supervision (γ, auxiliary heads)
//   gml:          T² KL(softmax(z̃_p/T) ‖ softmax(z̃_m/T)) − γ_H · H(softmax(z_m/T)) (entropy
//                 enhancement), z̃ = z ⊙ W the adaptive logit weighting (ALW): per node and class
//                 W = 2 σ(ĥ_v · (χ φ)_v), χ ∈ R^{N×h}, φ ∈ R^{h×C} learned per student, ĥ_v the
//                 student's normalised prediction entropy (detached); W = 1 at the start
//                 (φ = 0). GML's exact ALW form is unpublished; this is gkd's (docs/methods.md).
// P is LSP's local structure (methods.md §1.3). The schedule is the official code's alternation
// (each student in turn takes a step against the others' current state) or simultaneous (one
// forward of everyone, every student steps against the others' outputs of that forward).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/functions_graph.h"
#include "engine/context.h"
#include "engine/io/node_dataset.h"
#include "models/model.h"
#include "models/train_node.h"

namespace gkd::distill {

enum class OnlineMethod { kDml, kOc, kAlignahead, kAlignaheadPlus, kGml };
const char* online_method_name(OnlineMethod method);
// dml | oc | alignahead | alignahead++ | gml
OnlineMethod online_method_from_string(const std::string& name);

enum class Schedule { kAlternating, kSimultaneous };
// Students as a batch dimension (models::Model::forward_cohort): kAuto batches on CUDA, where a
// cohort's step is launch-bound, and runs students one by one on the CPU, where batching measured
// 2-21% slower (bench/results/cohort_throughput_cpu_2026-11-30.md); both give the same numbers
// up to float summation order.
enum class BatchStudents { kAuto, kAlways, kNever };
enum class FeatureDistance { kMse, kNormalizedMse, kCosine };

struct OnlineOptions {
  OnlineMethod method = OnlineMethod::kDml;
  double weight = 1.0;       // λ (the official Alignahead code's `a`)
  double temperature = 1.0;  // dml
  int64_t shift = 1;         // alignahead(++): peer layer = (t + shift) mod L
  autograd::StructureKernel kernel;
  Schedule schedule = Schedule::kSimultaneous;
  double feature_weight = 1.0;  // alignahead++: β
  FeatureDistance feature_distance = FeatureDistance::kMse;
  // alignahead++: γ on each auxiliary head's CE (the students need auxiliary heads).
  double aux_weight = 1.0;
  double entropy_weight = 0.0;  // gml: γ_H on the subtracted prediction entropy
  int64_t alw_rank = 0;         // gml: h of the ALW factorisation (0: no ALW, W = 1)
  // Whether students of one config run as one batch in the simultaneous schedule and in
  // evaluation (see BatchStudents).
  BatchStudents batch_students = BatchStudents::kAuto;
};

// Whether a cohort of `students` (they can_batch) runs as one batch on ctx under `online`.
bool batch_cohort(const OnlineOptions& online, const Context& ctx, int64_t students,
                  bool can_batch);

struct CohortResult {
  std::vector<models::NodeTrainResult> students;  // best-validation selection per student
  // The ensemble (mean of the students' softmax outputs) at the final epoch.
  double ensemble_test_acc = 0, ensemble_val_acc = 0;
  double median_epoch_ms = 0;  // the whole cohort's training step per epoch
  bool batched = false;        // the students ran as one batch (OnlineOptions::batch_students)
};

// Trains the students together on `data`. Structure methods need one architecture (their layers
// are paired); dml and gml accept mixed cohorts (GCN, GAT, SAGE, ...) with the same classes. Each
// has its own Adam (options.lr, options.weight_decay); each is left in its best-validation state.
// `on_epoch(k, metrics)` sees every student's epoch.
CohortResult train_cohort(
    const Context& ctx, const std::vector<models::Model*>& students, const io::NodeDataset& data,
    const models::NodeTrainOptions& options, const OnlineOptions& online,
    const std::function<void(int64_t student, const models::EpochMetrics&)>& on_epoch = {});

}  // namespace gkd::distill
