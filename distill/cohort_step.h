// The training step the node-level cohort trainers share: train_cohort (online.h: the whole graph
// every epoch) and train_inductive_cohort (online_inductive.h: every batch of graphs). A step
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
#include "models/model.h"
#include "models/selection.h"
#include "models/step_guard.h"

namespace gkd::distill {

// A student's supervised loss on the step's graph, from its logits: the masked cross-entropy of
// node classification, or the BCE of an inductive batch's labels. Also applied to auxiliary heads.
using SupervisedLoss = std::function<autograd::Var(autograd::Var logits)>;

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

class CohortStepper {
 public:
  // Validates the cohort for `online` (errors name the problem) and gives each student an Adam
  // over its parameters, plus its ALW factors (alw_rows rows of χ) when GML uses them.
  CohortStepper(const Context& ctx, const std::vector<models::Model*>& students,
                const OnlineOptions& online, const CohortTraining& training, int64_t alw_rows);

  // One training step on graph g with features x (both on the context's device): every student's
  // loss value, in order. Dropout masks are keyed by `step`; `where` names the step in reports.
  // Sets *stop when the cohort must stop before finishing it (a non-finite loss or gradient under
  // the stop policy, or a divergence with stop_on_divergence).
  std::vector<double> step(const Graph& g, const io::FeatureMatrix& x,
                           const SupervisedLoss& supervised, uint64_t step,
                           const std::string& where, bool* stop);

  // Student m alone takes one step against the others' current outputs (eval mode, fixed
  // references): one turn of the alternating schedule. Returns its loss value.
  double step_one(int64_t m, const Graph& g, const io::FeatureMatrix& x,
                  const SupervisedLoss& supervised, uint64_t step, const std::string& where,
                  bool* stop);

  // Every student's outputs in eval mode on g (one batched forward when they share a config).
  std::vector<models::ModelOutput> evaluate(autograd::Tape& tape, const Graph& g,
                                            const io::FeatureMatrix& x) const;

  // The training steps run the students as one batch (simultaneous schedule, one config).
  bool batched() const { return batched_ && online_.schedule == Schedule::kSimultaneous; }
  std::vector<std::unique_ptr<autograd::Adam>>& optimizers() { return optimizers_; }
  const std::vector<Alw>& alw() const { return alw_; }
  std::vector<models::StepGuard>& guards() { return guards_; }
  models::DivergenceMonitor& divergence(int64_t k) { return divergence_[k]; }

 private:
  std::vector<models::ModelOutput> forward(autograd::Tape& tape, const Graph& g,
                                           const io::FeatureMatrix& x, uint64_t step,
                                           bool training) const;
  models::StepGuard::Verdict check_loss(int64_t m, const std::string& where, uint64_t step,
                                        double loss);
  // The logits student k's mutual terms compare: after ALW for GML, the raw ones otherwise.
  autograd::Var kd_logits(autograd::Tape& tape, int64_t k, autograd::Var z) const;
  models::StepGuard::Verdict apply(int64_t m, const std::string& where);
  std::vector<double> simultaneous(const Graph& g, const io::FeatureMatrix& x,
                                   const SupervisedLoss& supervised, uint64_t step,
                                   const std::string& where, bool* stop);
  std::vector<double> alternating(const Graph& g, const io::FeatureMatrix& x,
                                  const SupervisedLoss& supervised, uint64_t step,
                                  const std::string& where, bool* stop);

  const Context& ctx_;
  std::vector<models::Model*> students_;
  std::vector<const models::Model*> cohort_;
  OnlineOptions online_;
  CohortTraining training_;
  bool batched_ = false;
  bool structural_ = false;  // oc, alignahead(++): hidden layers are paired
  std::vector<Alw> alw_;
  std::vector<std::unique_ptr<autograd::Adam>> optimizers_;
  std::vector<models::StepGuard> guards_;
  std::vector<models::DivergenceMonitor> divergence_;
};

}  // namespace gkd::distill
