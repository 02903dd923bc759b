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
#pragma once

#include <cstdint>
#include <vector>

#include "autograd/functions_graph.h"
#include "distill/offline.h"

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
  // `teachers` shallow to deep; `student_logits` [N, C] of the untrained student (code weights);
  // `epochs` the student's training epochs (stage length when stage_epochs is 0).
  MskdDistiller(const MskdOptions& options, std::vector<TeacherOutputs> teachers,
                const Tensor& student_logits, const models::ModelConfig& student, int64_t epochs);

  models::ExtraLoss extra_loss(const Graph& g);
  const std::vector<double>& teacher_weights() const { return weights_; }  // code weighting

 private:
  autograd::Var term(autograd::Tape& tape, const Graph& g, const models::ModelOutput& out,
                     int64_t epoch) const;

  MskdOptions o_;
  std::vector<TeacherOutputs> teachers_;
  std::vector<double> weights_;  // code: w_k
  Tensor attention_;             // node attention: [K, N] a_vk
  int64_t student_layer_ = 0, stage_epochs_ = 0;
};

}  // namespace gkd::distill
