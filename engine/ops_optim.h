// Tensor-level multi-tensor optimizer steps: validate the whole list once, then run one kernel call
// over every tensor (kernels/optim.h). The lists are parallel: entry i of each belongs to parameter
// i. Parameters, gradients and state are contiguous, all of one floating dtype, on ctx's device.
#pragma once

#include <cstdint>
#include <span>

#include "engine/context.h"
#include "engine/tensor.h"

namespace gkd::ops {

// Defaults are PyTorch's.
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;            // L2 (Adam) or decoupled (AdamW)
  bool decoupled_weight_decay = false;  // true: AdamW
};

struct SgdOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
};

// Throw gkd::Error naming `op` and the offending hyper-parameter, e.g.
// "[Adam] beta2 must be in [0, 1) (got 1)".
void check_options(const char* op, const AdamOptions& options);
void check_options(const char* op, const SgdOptions& options);

// One Adam/AdamW step over every tensor. exp_avg and exp_avg_sq: the moments, shaped like their
// parameter (zeros before the first step). steps[i] >= 1 counts tensor i's steps including this one
// (tensors that missed steps keep their own bias correction, as in PyTorch).
void adam_step(const Context& ctx, std::span<Tensor> params, std::span<const Tensor> grads,
               std::span<Tensor> exp_avg, std::span<Tensor> exp_avg_sq,
               std::span<const int64_t> steps, const AdamOptions& options);

// One SGD step over every tensor. momentum_bufs: shaped like their parameter when
// options.momentum != 0 (steps[i] == 1 initialises the buffer with the gradient, as PyTorch
// does), empty otherwise. steps as for adam_step.
void sgd_step(const Context& ctx, std::span<Tensor> params, std::span<const Tensor> grads,
              std::span<Tensor> momentum_bufs, std::span<const int64_t> steps,
              const SgdOptions& options);

}  // namespace gkd::ops
