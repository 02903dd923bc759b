// Scalar math shared by the CPU and CUDA twins, so both compute the same formula (same branch at
// the kink, same overflow-safe form). Derivatives are written in terms of the activation's
// *output* y: the backward kernels then need only the saved output, never the input.
#pragma once

#include <cmath>

#include "kernels/common.h"

namespace gkd::kernels {

// NaN propagates (as PyTorch): a diverged value must not be laundered into a 0.
template <class T>
GKD_HD inline T relu(T x) {
  return x < T(0) ? T(0) : x;
}
// relu'(0) = 0, as in PyTorch.
template <class T>
GKD_HD inline T relu_grad_from_output(T y) {
  return y > T(0) ? T(1) : T(0);
}

// Leaky ReLU with negative slope `slope` >= 0 (sign-preserving, so y > 0 exactly when x > 0).
template <class T>
GKD_HD inline T leaky_relu(T x, T slope) {
  return x < T(0) ? slope * x : x;
}
template <class T>
GKD_HD inline T leaky_relu_grad_from_output(T y, T slope) {
  return y > T(0) ? T(1) : slope;
}

// ELU with alpha = 1: x for x > 0, exp(x) - 1 otherwise (expm1 keeps precision near 0).
template <class T>
GKD_HD inline T elu(T x) {
  using std::expm1;  // float overload for float (a plain expm1 would compute in double)
  return x > T(0) ? x : expm1(x);
}
// d/dx (exp(x) - 1) = exp(x) = y + 1 on the negative side; 1 at x = 0 as in PyTorch.
template <class T>
GKD_HD inline T elu_grad_from_output(T y) {
  return y > T(0) ? T(1) : y + T(1);
}

// Logistic sigmoid; the branch keeps exp's argument <= 0 so it never overflows.
template <class T>
GKD_HD inline T sigmoid(T x) {
  using std::exp;
  if (x >= T(0)) return T(1) / (T(1) + exp(-x));
  const T e = exp(x);
  return e / (T(1) + e);
}
template <class T>
GKD_HD inline T sigmoid_grad_from_output(T y) {
  return y * (T(1) - y);
}

template <class T>
GKD_HD inline T tanh_grad_from_output(T y) {
  return T(1) - y * y;
}

}  // namespace gkd::kernels
