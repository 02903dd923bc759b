// MSKD (Zhang et al., AAAI 2022; methods.md §3): several frozen teachers of different depth,
// shallow to deep, distilled into one student through LSP's structure KL between a student hidden
// layer and each teacher's last hidden layer.
//   code weighting (the official code): a curriculum of K stages; stage k uses only teacher k, for
//     its first `warmup` epochs, with weight w_k = round(λ softmax(α̂)_k, 2), α̂ = α̃ / Σ α̃ and
//     α̃_k = mean(z_sᵀ z_k) over the C×C matrix, computed once from the *untrained* student's
//     logits z_s (as the code does).
//   node attention (the paper's intent; its formula is unpublished): every teacher in every
//     epoch of the window, node v weighting teacher k by a_vk = softmax_k(−H(p_k(v)) / τ_a), the
//     most confident teacher on v counting most; loss λ Σ_k (1/N) Σ_v a_vk KL_v(P_k ‖ P_s).
//     H is the entropy of the teacher's class softmax, or on multi-label data (PPI) the sum of
//     its labels' binary entropies.
// Transductive (one graph): the teachers' outputs are computed once (extra_loss). Inductive (PPI,
// the official code's setting): the teachers run forward-only on each step's batch, the code
// weighting running only the stage's teacher (inductive_extra_loss). Graph classification: the
// same on every training batch of graphs (graph_extra_loss); a teacher's last hidden layer is its
// last message-passing layer's node states, and node attention weights each node by the
// confidence of the teacher's prediction for the node's graph (gkd's choice: a graph classifier
// has no per-node prediction; docs/methods.md).
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/functions_graph.h"
#include "distill/offline.h"
#include "models/graph_model.h"
#include "models/train_graph.h"
#include "models/train_inductive.h"

namespace gkd::distill {

enum class MskdWeighting { kCode, kNodeAttention };

struct MskdOptions {
  MskdWeighting weighting = MskdWeighting::kCode;
  double lambda = 7.0;       // code: λ; node attention: the overall weight
  int64_t stage_epochs = 0;  // code: epochs per stage (0: the training epochs / K)
  int64_t warmup = 80;       // epochs of each stage (code) or of training (node attention)
                             // with the term on; 0: all
  double attention_temperature = 1.0;  // node attention: τ_a > 0
  int64_t student_layer =
      1;  // the student's hidden layer (the code: the 2nd); negative from the end
  autograd::StructureKernel kernel;
};

class MskdDistiller {
 public:
  // `teachers` shallow to deep, their outputs on the rows of `student_logits` [N, C], the
  // untrained student's (code weights; inductive and graph classification: the first training
  // batch); the student has `student_hidden_layers` hidden layers (models::ModelOutput::hidden);
  // `epochs` the student's training epochs (stage length when stage_epochs is 0).
  MskdDistiller(const MskdOptions& options, std::vector<TeacherOutputs> teachers,
                const Tensor& student_logits, int64_t student_hidden_layers, int64_t epochs);

  // Transductive: the term against the constructor's teacher outputs, on graph g.
  models::ExtraLoss extra_loss(const Graph& g);
  // Inductive: the term against `teachers` (the models of the constructor's outputs, same order)
  // run on every step's batch. The distiller and the teachers must outlive the training call.
  models::InductiveExtraLoss inductive_extra_loss(std::vector<const models::Model*> teachers);
  // Graph classification: the same, the teachers run on every training batch of graphs.
  models::GraphExtraLoss graph_extra_loss(std::vector<const models::GraphModel*> teachers);
  const std::vector<double>& teacher_weights() const { return weights_; }  // code weighting

 private:
  // The code weighting's teacher for `epoch`, or -1 when its term is off.
  int64_t stage_of(int64_t epoch) const;
  bool attention_active(int64_t epoch) const;
  // w_stage KL(P_stage ‖ P_s) of the student's layer against the stage teacher's last hidden.
  autograd::Var code_term(autograd::Tape& tape, const Graph& g, const models::ModelOutput& out,
                          const Tensor& teacher_hidden, int64_t stage) const;
  // λ Σ_k (1/N) Σ_v a_vk KL_v(P_k ‖ P_s), attention [K, N].
  autograd::Var attention_term(autograd::Tape& tape, const Graph& g, const models::ModelOutput& out,
                               const std::vector<TeacherOutputs>& teachers,
                               const Tensor& attention) const;

  MskdOptions o_;
  std::vector<TeacherOutputs> teachers_;
  std::vector<double> weights_;  // code: w_k
  int64_t student_layer_ = 0, stage_epochs_ = 0;
};

// a_vk = softmax_k(−H_k(v) / τ_a) over the teachers' predictions on the same N nodes: [K, N], on
// the logits' device and dtype. multi_label: H is the sum of the labels' binary entropies.
Tensor node_attention(const std::vector<TeacherOutputs>& teachers, double temperature,
                      bool multi_label);

// The same from graph classifiers' predictions on a batch (logits [B, C] per teacher): each of
// graph b's nodes in `batch` gets graph b's weights, [K, N].
Tensor graph_node_attention(const std::vector<TeacherOutputs>& teachers, const Graph& batch,
                            double temperature);

}  // namespace gkd::distill
