// CPU twins of the multi-tensor optimizer updates (formulas in kernels/optim.h). Each element is
// updated independently in double and rounded once per stored value, so the result does not depend
// on the thread count.
#include <cmath>

#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {
constexpr int64_t kParallelMin = 1 << 15;  // below this a tensor is updated on one thread
}  // namespace

template <class T>
void adam(const AdamArgs<T>& a) {
  for (int64_t i = 0; i < a.num_tensors; ++i) {
    const AdamTensor<T>& t = a.tensors[i];
    const double t_step = static_cast<double>(t.step);
    const double step_size = a.lr / (1.0 - std::pow(a.beta1, t_step));
    const double bias2_sqrt = std::sqrt(1.0 - std::pow(a.beta2, t_step));
    const double l2 = a.decoupled_weight_decay ? 0.0 : a.weight_decay;
    const double shrink = a.decoupled_weight_decay ? 1.0 - a.lr * a.weight_decay : 1.0;
#pragma omp parallel for schedule(static) if (t.numel > kParallelMin)
    for (int64_t j = 0; j < t.numel; ++j) {
      const double p = static_cast<double>(t.param[j]) * shrink;
      const double g = static_cast<double>(t.grad[j]) + l2 * static_cast<double>(t.param[j]);
      const double m = a.beta1 * static_cast<double>(t.exp_avg[j]) + (1.0 - a.beta1) * g;
      const double v = a.beta2 * static_cast<double>(t.exp_avg_sq[j]) + (1.0 - a.beta2) * g * g;
      t.exp_avg[j] = static_cast<T>(m);
      t.exp_avg_sq[j] = static_cast<T>(v);
      t.param[j] = static_cast<T>(p - step_size * m / (std::sqrt(v) / bias2_sqrt + a.eps));
    }
  }
}

template <class T>
void sgd(const SgdArgs<T>& a) {
  for (int64_t i = 0; i < a.num_tensors; ++i) {
    const SgdTensor<T>& t = a.tensors[i];
    const bool use_buf = a.momentum != 0.0;
#pragma omp parallel for schedule(static) if (t.numel > kParallelMin)
    for (int64_t j = 0; j < t.numel; ++j) {
      const double p = static_cast<double>(t.param[j]);
      double g = static_cast<double>(t.grad[j]) + a.weight_decay * p;
      if (use_buf) {
        const double b = t.first_step ? g
                                      : a.momentum * static_cast<double>(t.momentum_buf[j]) +
                                            (1.0 - a.dampening) * g;
        t.momentum_buf[j] = static_cast<T>(b);
        g = a.nesterov ? g + a.momentum * b : b;
      }
      t.param[j] = static_cast<T>(p - a.lr * g);
    }
  }
}

template void adam<float>(const AdamArgs<float>&);
template void adam<double>(const AdamArgs<double>&);
template void sgd<float>(const SgdArgs<float>&);
template void sgd<double>(const SgdArgs<double>&);

}  // namespace gkd::kernels::cpu
