// Batch normalisation over the rows of x (one sample per row, one channel per column), with the
// semantics of torch.nn.BatchNorm1d:
//
//   batch_norm, training: μ_j = Σ_i x_ij / N,  σ²_j = Σ_i (x_ij − μ_j)² / N   (biased, normalises)
//                         running_mean ← (1 − m) running_mean + m μ
//                         running_var  ← (1 − m) running_var  + m σ² N / (N − 1)   (unbiased)
//               eval:     μ, σ² = running_mean, running_var
//               both:     y_ij = (x_ij − μ_j) s_j γ_j + β_j  with s_j = 1 / sqrt(σ²_j + ε)
//               Bytes: 2 N F reads (training) + N F writes; FLOPs: about 6 N F.
//   batch_norm_backward, with x̂ = (x − μ) s:
//               training: dx_ij (+)= γ_j s_j (dy_ij − Σ_i dy_ij / N − x̂_ij Σ_i dy_ij x̂_ij / N)
//               eval:     dx_ij (+)= γ_j s_j dy_ij        (μ and s are constants)
//               dγ_j (+)= Σ_i dy_ij x̂_ij,  dβ_j (+)= Σ_i dy_ij
//               Bytes: 2 N F reads for the sums + 2 N F reads and N F writes; FLOPs: about 8 N F.
// Column statistics are summed in double over rows in increasing order, so results do not depend
// on the thread count.
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

template <class T>
struct BatchNormArgs {
  ConstMatView<T> x;         // [N, F]; N >= 2 when training (engine/ops_norm checks)
  ConstMatView<T> gamma;     // [1, F] scale, or data = null for none (γ = 1)
  ConstMatView<T> beta;      // [1, F] shift, or data = null for none (β = 0)
  MatView<T> running_mean;   // [1, F]: read in eval, updated in training; null: not tracked
  MatView<T> running_var;    // [1, F]: as running_mean (both null or both set)
  MatView<T> saved_mean;     // [1, F]: overwritten with the μ used
  MatView<T> saved_inv_std;  // [1, F]: overwritten with the s used
  MatView<T> y;              // [N, F]: overwritten; must not overlap x
  bool training = true;      // batch statistics (true) or running statistics (false)
  double momentum = 0.1;     // m, in [0, 1]
  double eps = 1e-5;         // ε > 0
};

template <class T>
struct BatchNormBackwardArgs {
  ConstMatView<T> x;              // [N, F] forward input
  ConstMatView<T> dy;             // [N, F] gradient of y
  ConstMatView<T> gamma;          // [1, F], or data = null (γ = 1)
  ConstMatView<T> saved_mean;     // [1, F] from the forward
  ConstMatView<T> saved_inv_std;  // [1, F] from the forward
  MatView<T> dx;                  // [N, F], or data = null when not wanted
  MatView<T> dgamma;              // [1, F], or data = null
  MatView<T> dbeta;               // [1, F], or data = null
  bool training = true;           // the forward's mode
  bool accumulate = false;        // dx, dγ, dβ += instead of =
};

}  // namespace gkd::kernels
