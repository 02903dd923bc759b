// The training step every cohort trainer shares: train_cohort (online.h: the whole graph every
// epoch), train_inductive_cohort (online_inductive.h: every batch of graphs) and
// train_graph_cohort (online_graph.h: graph classifiers on every batch of graphs). A step
// runs every student forward (one batched forward when they share a config), computes each
// student's loss against its peers' outputs as fixed references (the fused cohort class KL for
// dml/gml, one fused structure-KL call for the structure methods), checks each loss and gradient
// for non-finite values and steps each student's own Adam, in the simultaneous or alternating
// schedule.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/optim.h"
#include "distill/alw.h"
#include "distill/online.h"
#include "engine/io/graph_dataset.h"
#include "models/graph_model.h"
#include "models/model.h"
#include "models/selection.h"
#include "models/step_guard.h"

namespace gkd::distill {

// A student's supervised loss on the step's graph, from its logits: the masked cross-entropy of
// node classification, the BCE of an inductive batch's labels or the cross-entropy of a batch's
// graph labels. Also applied to auxiliary heads.
using SupervisedLoss = std::function<autograd::Var(autograd::Var logits)>;

// A step's input for node students (models::Model): a graph and its node features, both on the
// context's device.
struct NodeStepInput {
  const Graph& graph;
  const io::FeatureMatrix& x;
};

// A step's input for graph students (models::GraphModel): a batch of graphs, its graph on the
// context's device (the structure terms run over its edges) and the dataset rows of its graphs
// on the context's device (the rows of GML's χ that its logits use).
struct GraphStepInput {
  const io::GraphBatch& batch;
  Graph graph;
  Tensor rows;
};

template <class Student>
struct CohortInput;
template <>
struct CohortInput<models::Model> {
  using type = NodeStepInput;
};
template <>
struct CohortInput<models::GraphModel> {
  using type = GraphStepInput;
};

// The per-student training settings a cohort shares.
struct CohortTraining {
  double lr = 0.01;
  double weight_decay = 0;
  uint64_t seed = 1;  // student k draws dropout from seed * 1000 + k
  models::NonFinitePolicy on_non_finite = models::NonFinitePolicy::kStop;
  double clip_grad_norm = 0;   // > 0: clip each student's global gradient norm
  double divergence_jump = 0;  // > 0: a step loss above jump x its lowest is divergence
  bool stop_on_divergence = false;
};

// Student is models::Model (node students) or models::GraphModel (graph classifiers, whose
// hidden layers are all L message-passing layers' node states).
template <class Student>
class CohortStepper {
 public:
  using Input = typename CohortInput<Student>::type;

  // Validates the cohort for `online` (errors name the problem), moves the students to ctx's
  // device and gives each an Adam over its parameters, plus its ALW factors (alw_rows rows of χ:
  // the graph's nodes, or the dataset's graphs) when GML uses them.
  CohortStepper(const Context& ctx, const std::vector<Student*>& students,
                const OnlineOptions& online, const CohortTraining& training, int64_t alw_rows);

  // One training step on `in`: every student's loss value, in order. Dropout masks are keyed by
  // `step`; `where` names the step in reports. Sets *stop when the cohort must stop before
  // finishing it (a non-finite loss or gradient under the stop policy, or a divergence with
  // stop_on_divergence).
  std::vector<double> step(const Input& in, const SupervisedLoss& supervised, uint64_t step,
                           const std::string& where, bool* stop);

  // Student m alone takes one step against the others' current outputs (eval mode, fixed
  // references): one turn of the alternating schedule. Returns its loss value.
  double step_one(int64_t m, const Input& in, const SupervisedLoss& supervised, uint64_t step,
                  const std::string& where, bool* stop);

  // Every student's outputs in eval mode on `in` (one batched forward when they share a config).
  std::vector<models::ModelOutput> evaluate(autograd::Tape& tape, const Input& in) const;

  // The training steps run the students as one batch (simultaneous schedule, one config).
  bool batched() const { return batched_ && online_.schedule == Schedule::kSimultaneous; }
  std::vector<std::unique_ptr<autograd::Adam>>& optimizers() { return optimizers_; }
  const std::vector<Alw>& alw() const { return alw_; }
  std::vector<models::StepGuard>& guards() { return guards_; }
  models::DivergenceMonitor& divergence(int64_t k) { return divergence_[k]; }

 private:
  std::vector<models::ModelOutput> forward(autograd::Tape& tape, const Input& in, uint64_t step,
                                           bool training) const;
  models::StepGuard::Verdict check_loss(int64_t m, const std::string& where, uint64_t step,
                                        double loss);
  // The logits student k's mutual terms compare: after ALW for GML, the raw ones otherwise.
  autograd::Var kd_logits(autograd::Tape& tape, const Input& in, int64_t k, autograd::Var z) const;
  models::StepGuard::Verdict apply(int64_t m, const std::string& where);
  std::vector<double> simultaneous(const Input& in, const SupervisedLoss& supervised, uint64_t step,
                                   const std::string& where, bool* stop);
  std::vector<double> alternating(const Input& in, const SupervisedLoss& supervised, uint64_t step,
                                  const std::string& where, bool* stop);

  const Context& ctx_;
  std::vector<Student*> students_;
  std::vector<const Student*> cohort_;
  OnlineOptions online_;
  CohortTraining training_;
  bool batched_ = false;
  bool structural_ = false;  // oc, alignahead(++): hidden layers are paired
  std::vector<Alw> alw_;
  std::vector<std::unique_ptr<autograd::Adam>> optimizers_;
  std::vector<models::StepGuard> guards_;
  std::vector<models::DivergenceMonitor> divergence_;
};

extern template class CohortStepper<models::Model>;
extern template class CohortStepper<models::GraphModel>;

}  // namespace gkd::distill
