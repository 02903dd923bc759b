// Tensor-level batch normalisation (kernels/norm.h): validate once, then run a twin.
#pragma once

#include "engine/context.h"
#include "engine/tensor.h"

namespace gkd::ops {

struct BatchNormOptions {
  bool training = true;   // batch statistics (and a running-statistics update) or running ones
  double momentum = 0.1;  // PyTorch's convention: running ← (1 − m) running + m batch
  double eps = 1e-5;
};

// The statistics a forward used, needed by its backward.
struct BatchNormSaved {
  Tensor mean;     // [1, F]
  Tensor inv_std;  // [1, F]
};

// y = (x − μ) / sqrt(σ² + ε) · γ + β per column. x: [N, F] (N >= 2 when training); gamma, beta:
// [1, F] or undefined; running_mean, running_var: [1, F] (updated in place when training), or both
// undefined when training without tracking (eval then needs them).
Tensor batch_norm(const Context& ctx, const Tensor& x, const Tensor& gamma, const Tensor& beta,
                  Tensor& running_mean, Tensor& running_var, const BatchNormOptions& options,
                  BatchNormSaved* saved = nullptr);

// dx, dgamma, dbeta (+)= the gradients of batch_norm; a null or undefined output is skipped.
void batch_norm_backward(const Context& ctx, const Tensor& x, const Tensor& dy, const Tensor& gamma,
                         const BatchNormSaved& saved, bool training, Tensor* dx, Tensor* dgamma,
                         Tensor* dbeta, bool accumulate = false);

}  // namespace gkd::ops
