// Fused losses: one pass per row computes the row's loss term AND its gradient, so the autograd
// backward only scales the saved gradient by the incoming scalar (the tiny-cuda-nn pattern). Every
// softmax is a stable log-softmax computed inside the kernel, in double.
//
// Shared conventions (N rows; every [N] array is contiguous):
//   mask   optional u8 [N]: nonzero = the row takes part; null = every row. M = number of selected
//          rows, counted by the kernel (masks are data, so M is not known on the host).
//   rows   [N], overwritten with each row's term before the mean (0 outside the mask).
//   loss   [1], overwritten with Σ_i rows[i] / D, the sum taken in double in row order (fixed
//          order, no atomics: deterministic); D = M (or M·L, N·F) as stated per kernel.
//          An empty mask (M = 0) gives loss 0 and zero gradients instead of 0/0.
//   grads  overwritten over all N rows (0 outside the mask); a null data pointer skips them.
//
//   cross_entropy    rows_i = lse(z_i) - z_i[y_i]; d/dz = (softmax(z_i) - onehot(y_i))/M
//   bce_with_logits  rows_i = Σ_j max(x,0) - x t + log(1 + e^-|x|); d/dx = (σ(x) - t)/(M·L)
//   kl_div           rows_i = T_i² KL(softmax(t_i/T_i) || softmax(s_i/T_i)); D = M
//   softmax_entropy  rows_i = -Σ_j p_j log p_j, p = softmax(x_i/T); D = M
//   mse              rows_i = Σ_j (a_ij - b_ij)²; D = N·F
//   scaled_add       y += factor · scale[0] · x  (scale read on the device: no host sync)
//
// Bytes (f32, C classes): each loss reads its N·C inputs once per input (4 B each) and writes
// N·C gradient values per requested gradient plus N row terms; FLOPs ≈ N·C·(exp + ~6) per
// softmax. The row buffer makes the final mean a fixed-order N-term sum.
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

// Masked cross-entropy with integer class labels:
//   loss = (1/M) Σ_{i in mask} -log softmax(z_i)[y_i].
template <class T>
struct CrossEntropyArgs {
  ConstMatView<T> logits;   // [N, C]
  const int32_t* labels32;  // [N] class per row; exactly one of labels32 / labels64 is set. Rows
  const int64_t* labels64;  //   outside the mask are never read; selected ones lie in [0, C)
  const uint8_t* mask;      // [N] or null (see above)
  T* rows;                  // [N], overwritten
  T* loss;                  // [1], overwritten; D = M
  MatView<T> dlogits;       // [N, C], overwritten with (softmax - onehot)/M; data null = skip
};

// Multi-label BCE with logits (torch.nn.BCEWithLogitsLoss, reduction='mean', over the selected
// rows), in the stable form max(x,0) - x·t + log1p(exp(-|x|)); targets may be soft, in [0, 1].
template <class T>
struct BceWithLogitsArgs {
  ConstMatView<T> logits;   // [N, L]
  ConstMatView<T> targets;  // [N, L]
  const uint8_t* mask;      // [N] or null
  T* rows;                  // [N], overwritten: Σ_j of the element losses of row i
  T* loss;                  // [1], overwritten; D = M·L
  MatView<T> dlogits;       // [N, L], overwritten with (sigmoid(x) - t)/(M·L); data null = skip
};

// Distillation KL with temperature, teacher first: KL(teacher || student). The T² is Hinton et
// al.'s: the soft-target gradient scales as 1/T² (a 1/T from the chain rule, another from q - p
// shrinking as both distributions flatten), so T² keeps its size comparable across temperatures.
//   loss = (1/M) Σ_{i in mask} T_i² Σ_c p_c (log p_c - log q_c),  p = softmax(t_i/T_i),
//          q = softmax(s_i/T_i).
// With a = t/T, u = s/T, d_c = log p_c - log q_c and K = Σ_c p_c d_c:
//   d/ds_c = T (q_c - p_c) / M        d/dt_c = T p_c (d_c - K) / M
//   d/dT_i = (2 T K - T [Σ_c p_c (d_c - K) a_c + Σ_c (q_c - p_c) u_c]) / M
// (a and u are shifted by their row maxima inside the sums; the shift cancels because
// Σ p (d - K) = Σ (q - p) = 0.)
template <class T>
struct KlDivArgs {
  ConstMatView<T> student;   // [N, C] logits s
  ConstMatView<T> teacher;   // [N, C] logits t
  T temperature;             // T > 0, used when row_temperature is null
  const T* row_temperature;  // [N] T_i > 0 per row, or null
  const uint8_t* mask;       // [N] or null
  T* rows;                   // [N], overwritten: T_i² KL_i
  T* loss;                   // [1], overwritten; D = M
  MatView<T> dstudent;       // [N, C], overwritten; data null = skip
  MatView<T> dteacher;       // [N, C], overwritten; data null = skip
  T* dtemperature;           // [N], overwritten with d loss/d T_i; null = skip (per-row T only)
};

// Mean entropy of tempered softmax rows:
//   loss = (1/M) Σ_{i in mask} -Σ_j p_j log p_j,  p = softmax(x_i/T);
//   d/dx_j = -p_j (log p_j + H_i) / (T·M).
template <class T>
struct SoftmaxEntropyArgs {
  ConstMatView<T> x;    // [N, C]
  T temperature;        // T > 0
  const uint8_t* mask;  // [N] or null
  T* rows;              // [N], overwritten: H_i
  T* loss;              // [1], overwritten; D = M
  MatView<T> dx;        // [N, C], overwritten; data null = skip
};

// Mean squared error over every element: loss = (1/(N·F)) Σ_ij (a_ij - b_ij)²;
// d/da = 2 (a - b)/(N·F) = -d/db (so only d/da is written).
template <class T>
struct MseArgs {
  ConstMatView<T> a;  // [N, F]
  ConstMatView<T> b;  // [N, F]
  T* rows;            // [N], overwritten: Σ_j (a_ij - b_ij)²
  T* loss;            // [1], overwritten; D = N·F
  MatView<T> da;      // [N, F], overwritten; data null = skip
};

// y += factor · scale[0] · x: the backward of a fused loss (scale = the upstream [1, 1] gradient,
// read where it lives, so a CUDA twin needs no host sync).
template <class T>
struct ScaledAddArgs {
  ConstMatView<T> x;  // [R, K]
  const T* scale;     // [1] on the same device as x and y
  T factor;           // host constant (e.g. -1 for the second operand of mse)
  MatView<T> y;       // [R, K], accumulated
};

}  // namespace gkd::kernels
