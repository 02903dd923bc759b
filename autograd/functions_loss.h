// Differentiable fused losses, each a [1, 1] Var. The forward kernel also writes the gradient
// w.r.t. every input that needs one (engine/ops_loss.h); the recorded backward only adds
// upstream · saved gradient, reading the upstream [1, 1] value on the device. Gradients are
// computed only when the tape records them (not under NoGrad, not for constants).
//
// Masks are u8 [N, 1] (nonzero = the row counts; undefined = every row); means are over the
// selected rows, and an empty selection gives loss 0 and zero gradients.
#pragma once

#include <vector>

#include "autograd/tape.h"

namespace gkd::autograd {

// mean over selected rows of -log softmax(logits_i)[labels_i]. logits: [N, C]; labels: i32/i64
// [N, 1] in [0, C) on selected rows (checked by the op on CPU data).
Var cross_entropy(Var logits, const Tensor& labels, const Tensor& mask = {});

// torch.nn.BCEWithLogitsLoss(reduction='mean') over the selected rows: mean over (M rows × L) of
// max(x,0) - x·t + log(1 + exp(-|x|)). logits: [N, L]; targets: [N, L] in [0, 1].
Var bce_with_logits(Var logits, const Tensor& targets, const Tensor& mask = {});

struct KlDivFnOptions {
  Tensor mask;  // u8 [N, 1] or undefined
  // false: the teacher is a target (detached, as in offline KD); true: the gradient also flows
  // into the teacher (mutual learning, where both sides learn).
  bool teacher_grad = false;
};
// mean over selected rows of T² · KL(softmax(teacher_i/T) || softmax(student_i/T)): the teacher is
// the reference distribution; T² (Hinton et al.) offsets the 1/T² shrinking of the gradient.
// student, teacher: [N, C].
Var kl_div(Var student, Var teacher, double temperature, const KlDivFnOptions& options = {});
// The same with a per-row temperature T_i [N, 1] (> 0), e.g. GML's adaptive temperature; it
// receives a gradient when it requires one (learnable temperatures).
Var kl_div(Var student, Var teacher, Var row_temperature, const KlDivFnOptions& options = {});

// Deep mutual learning for K students at once (kernels/cohort.h): [K, 1], entry m the mean over
// all rows of T² / (K − 1) Σ_{p≠m} KL(softmax(z_p/T) ‖ softmax(z_m/T)). Each entry's gradient
// flows into its own student's logits only: the peers are fixed references, as in DML. Equal to
// K(K − 1) kl_div calls with detached peers, with each softmax computed once.
Var cohort_kl(const std::vector<Var>& logits, double temperature);

// mean over selected rows of the entropy -Σ_j p_j log p_j of p = softmax(x_i/T). x: [N, C].
Var entropy(Var x, double temperature = 1.0, const Tensor& mask = {});

// mean over all elements of (a - b)² (feature hints). a, b: [N, F].
Var mse(Var a, Var b);

}  // namespace gkd::autograd
