// CUDA twins of the multi-tensor optimizer updates (kernels/optim.h). The host table travels as
// kernel arguments, kMaxTensors tensors per launch (a model of up to that many parameters is one
// launch): blockIdx.y picks the tensor, the x blocks grid-stride over its elements. Each element is
// updated in double and rounded once per stored value, as on the CPU.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/registry.h"

namespace gkd::kernels::cuda {
namespace {

constexpr int kMaxTensors = 32;  // keeps the argument block well under CUDA's 4 KiB
struct AdamSlot {
  float *param, *exp_avg, *exp_avg_sq;
  const float* grad;
  int64_t numel;
  double step_size;   // lr / (1 - β1^t)
  double bias2_sqrt;  // sqrt(1 - β2^t)
};
struct AdamTable {
  AdamSlot slot[kMaxTensors];
  double beta1, beta2, eps, l2, shrink;
};

__global__ void adam_kernel(AdamTable t) {
  const AdamSlot& s = t.slot[blockIdx.y];
  for (int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; j < s.numel;
       j += int64_t{gridDim.x} * blockDim.x) {
    const double p = static_cast<double>(s.param[j]) * t.shrink;
    const double g = static_cast<double>(s.grad[j]) + t.l2 * static_cast<double>(s.param[j]);
    const double m = t.beta1 * static_cast<double>(s.exp_avg[j]) + (1.0 - t.beta1) * g;
    const double v = t.beta2 * static_cast<double>(s.exp_avg_sq[j]) + (1.0 - t.beta2) * g * g;
    s.exp_avg[j] = static_cast<float>(m);
    s.exp_avg_sq[j] = static_cast<float>(v);
    s.param[j] = static_cast<float>(p - s.step_size * m / (sqrt(v) / s.bias2_sqrt + t.eps));
  }
}

struct SgdSlot {
  float* param;
  const float* grad;
  float* momentum_buf;
  int64_t numel;
  bool first_step;
};
struct SgdTable {
  SgdSlot slot[kMaxTensors];
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
};

__global__ void sgd_kernel(SgdTable t) {
  const SgdSlot& s = t.slot[blockIdx.y];
  const bool use_buf = t.momentum != 0.0;
  for (int64_t j = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; j < s.numel;
       j += int64_t{gridDim.x} * blockDim.x) {
    const double p = static_cast<double>(s.param[j]);
    double g = static_cast<double>(s.grad[j]) + t.weight_decay * p;
    if (use_buf) {
      const double b = s.first_step ? g
                                    : t.momentum * static_cast<double>(s.momentum_buf[j]) +
                                          (1.0 - t.dampening) * g;
      s.momentum_buf[j] = static_cast<float>(b);
      g = t.nesterov ? g + t.momentum * b : b;
    }
    s.param[j] = static_cast<float>(p - t.lr * g);
  }
}

// x blocks for the largest tensor of a launch (a grid-stride loop covers the rest).
unsigned blocks_for(int64_t largest) {
  return grid_for(std::max<int64_t>(largest, 1), kBlock);
}

}  // namespace

void adam(const AdamArgs<float>& a, Stream stream) {
  for (int64_t first = 0; first < a.num_tensors; first += kMaxTensors) {
    const int64_t count = std::min<int64_t>(kMaxTensors, a.num_tensors - first);
    AdamTable t{};
    t.beta1 = a.beta1;
    t.beta2 = a.beta2;
    t.eps = a.eps;
    t.l2 = a.decoupled_weight_decay ? 0.0 : a.weight_decay;
    t.shrink = a.decoupled_weight_decay ? 1.0 - a.lr * a.weight_decay : 1.0;
    int64_t largest = 0;
    for (int64_t i = 0; i < count; ++i) {
      const AdamTensor<float>& src = a.tensors[first + i];
      const double step = static_cast<double>(src.step);
      t.slot[i] = {.param = src.param,
                   .exp_avg = src.exp_avg,
                   .exp_avg_sq = src.exp_avg_sq,
                   .grad = src.grad,
                   .numel = src.numel,
                   .step_size = a.lr / (1.0 - std::pow(a.beta1, step)),
                   .bias2_sqrt = std::sqrt(1.0 - std::pow(a.beta2, step))};
      largest = std::max(largest, src.numel);
    }
    adam_kernel<<<dim3(blocks_for(largest), static_cast<unsigned>(count)), kBlock, 0,
                  raw(stream)>>>(t);
    check_launch("adam");
  }
}

void sgd(const SgdArgs<float>& a, Stream stream) {
  for (int64_t first = 0; first < a.num_tensors; first += kMaxTensors) {
    const int64_t count = std::min<int64_t>(kMaxTensors, a.num_tensors - first);
    SgdTable t{};
    t.lr = a.lr;
    t.momentum = a.momentum;
    t.dampening = a.dampening;
    t.weight_decay = a.weight_decay;
    t.nesterov = a.nesterov;
    int64_t largest = 0;
    for (int64_t i = 0; i < count; ++i) {
      const SgdTensor<float>& src = a.tensors[first + i];
      t.slot[i] = {.param = src.param,
                   .grad = src.grad,
                   .momentum_buf = src.momentum_buf,
                   .numel = src.numel,
                   .first_step = src.first_step};
      largest = std::max(largest, src.numel);
    }
    sgd_kernel<<<dim3(blocks_for(largest), static_cast<unsigned>(count)), kBlock, 0, raw(stream)>>>(
        t);
    check_launch("sgd");
  }
}

}  // namespace gkd::kernels::cuda
