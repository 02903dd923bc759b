// Multi-tensor optimizer updates: one call updates every parameter tensor of a model, so the CUDA
// twin can do it in one launch (the tensor table travels as kernel arguments, as in PyTorch's
// fused optimizers). The tables live in host memory; the element data on the context's device.
//
// Adam (PyTorch torch.optim.Adam; AdamW when decoupled_weight_decay), per element of tensor i with
// its own step count t = step[i] >= 1:
//   g  = grad + wd·p                      (Adam: L2 penalty folded into the gradient)
//   p  = p · (1 - lr·wd)                  (AdamW instead: decoupled decay, g = grad)
//   m  = β1·m + (1-β1)·g
//   v  = β2·v + (1-β2)·g²
//   p -= lr/(1-β1^t) · m / (sqrt(v)/sqrt(1-β2^t) + eps)
// Bytes per element: read p, g, m, v and write p, m, v = 7·sizeof(T); FLOPs ≈ 12.
//
// SGD (PyTorch torch.optim.SGD), per element:
//   g  = grad + wd·p
//   b  = g on the tensor's first momentum step, else μ·b + (1-τ)·g      (only when μ != 0)
//   g  = g + μ·b (nesterov) or b
//   p -= lr·g
// Bytes per element: read p, g, b and write p, b = 5·sizeof(T) (3·sizeof(T) without momentum).
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

// One parameter tensor of an Adam/AdamW update. All arrays are contiguous, `numel` elements each.
template <class T>
struct AdamTensor {
  T* param;       // [numel], updated in place
  const T* grad;  // [numel], read only
  T* exp_avg;     // [numel] first moment m, updated in place (zeros before the first step)
  T* exp_avg_sq;  // [numel] second moment v, updated in place (zeros before the first step)
  int64_t numel;  // >= 0
  int64_t step;   // this tensor's step count including the current step (>= 1)
};

template <class T>
struct AdamArgs {
  const AdamTensor<T>* tensors;  // [num_tensors] on the host
  int64_t num_tensors;
  // Host scalars in double so that f32 and f64 updates use the same values.
  double lr;                    // > 0
  double beta1;                 // in [0, 1)
  double beta2;                 // in [0, 1)
  double eps;                   // > 0
  double weight_decay;          // >= 0; L2 (Adam) or decoupled (AdamW)
  bool decoupled_weight_decay;  // false: Adam, true: AdamW
};

// One parameter tensor of an SGD update. All arrays are contiguous, `numel` elements each.
template <class T>
struct SgdTensor {
  T* param;         // [numel], updated in place
  const T* grad;    // [numel], read only
  T* momentum_buf;  // [numel], updated in place; null when momentum == 0
  int64_t numel;    // >= 0
  bool first_step;  // the buffer holds nothing yet: it is overwritten with g (PyTorch), unread
};

template <class T>
struct SgdArgs {
  const SgdTensor<T>* tensors;  // [num_tensors] on the host
  int64_t num_tensors;
  double lr;            // > 0
  double momentum;      // μ >= 0
  double dampening;     // τ; not applied on a buffer's first step
  double weight_decay;  // >= 0, L2 folded into the gradient
  bool nesterov;        // requires momentum > 0 and dampening == 0
};

}  // namespace gkd::kernels
