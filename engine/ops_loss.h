// Tensor-level fused losses (kernels/loss.h): validate once, then one kernel computes the mean
// loss, the per-row terms and, when asked, the gradients w.r.t. the inputs in the same pass.
//
// Masks are u8 [N, 1] tensors (a bool array as loaded from the data: nonzero = the row counts);
// an undefined mask selects every row. Means are over the selected rows; an empty selection gives
// loss 0 and zero gradients. Integer labels are i32 or i64 [N, 1].
#pragma once

#include "engine/context.h"
#include "engine/tensor.h"

namespace gkd::ops {

struct LossOutput {
  Tensor loss;              // [1, 1], the inputs' dtype
  Tensor rows;              // [N, 1] per-row terms before the mean (0 outside the mask)
  Tensor grad;              // d loss / d (first input), its shape; undefined unless requested
  Tensor grad_teacher;      // kl_div: d loss / d teacher logits [N, C]; undefined unless requested
  Tensor grad_temperature;  // kl_div: d loss / d T_i [N, 1] (per-row T); undefined unless requested
};

// loss = mean over selected rows of -log softmax(logits_i)[labels_i]. logits: [N, C]; labels:
// i32/i64 [N, 1]. Labels of selected rows must lie in [0, C): checked here when the labels are
// on the CPU (O(N), once per call); on a CUDA context the caller guarantees it (validate at load
// time), since checking would need a device-to-host copy.
LossOutput cross_entropy(const Context& ctx, const Tensor& logits, const Tensor& labels,
                         const Tensor& mask = {}, bool want_grad = true);

// loss = mean over (selected rows × L) of max(x,0) - x·t + log(1 + exp(-|x|)), i.e.
// torch.nn.BCEWithLogitsLoss(reduction='mean') on the selected rows. logits, targets: [N, L]
// (targets in [0, 1], same dtype).
LossOutput bce_with_logits(const Context& ctx, const Tensor& logits, const Tensor& targets,
                           const Tensor& mask = {}, bool want_grad = true);

struct KlDivOptions {
  double temperature = 1.0;  // T > 0, used when row_temperature is undefined
  Tensor row_temperature;    // [N, 1] per-row T_i > 0 (checked when on the CPU), or undefined
  Tensor mask;               // u8 [N, 1] or undefined
  bool grad_student = true;
  bool grad_teacher = false;      // mutual learning: both sides learn
  bool grad_temperature = false;  // learnable per-row temperatures (needs row_temperature)
};
// loss = mean over selected rows of T_i² · KL(softmax(t_i/T_i) || softmax(s_i/T_i)): the teacher
// is the reference distribution (first argument of the KL), as in Hinton et al. and every seed
// method; T² (Hinton et al.) keeps the gradient scale comparable across temperatures, since the
// soft-target gradient shrinks as 1/T². student, teacher: [N, C].
LossOutput kl_div(const Context& ctx, const Tensor& student, const Tensor& teacher,
                  const KlDivOptions& options = {});

// loss = mean over selected rows of H(softmax(x_i/T)) = -Σ_j p_j log p_j. x: [N, C]; T > 0.
LossOutput softmax_entropy(const Context& ctx, const Tensor& x, double temperature = 1.0,
                           const Tensor& mask = {}, bool want_grad = true);

// loss = mean over all N·F elements of (a - b)²; grad = d/da (d/db = -grad). a, b: [N, F].
LossOutput mse(const Context& ctx, const Tensor& a, const Tensor& b, bool want_grad = true);

// y += factor · scale[0, 0] · x with scale a [1, 1] tensor on the context's device, read there
// (no host sync): how a fused loss's backward applies the upstream gradient. x, y: same shape.
void scaled_add(const Context& ctx, double factor, const Tensor& scale, const Tensor& x, Tensor& y);

}  // namespace gkd::ops
