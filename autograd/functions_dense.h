// Differentiable dense functions. Each records one tape node (linear records two: matmul and
// bias_act) whose backward accumulates into the gradients of the inputs that need one, reusing the
// forward kernels (GEMM with transposes, dropout with the same Philox stream, ...).
#pragma once

#include <cstdint>

#include "autograd/tape.h"
#include "engine/ops_norm.h"
#include "kernels/dense.h"

namespace gkd::autograd {

using kernels::Activation;

// a · b for a: [M, K], b: [K, N].
Var matmul(Var a, Var b);

// act(x + bias) with x: [N, F] and bias: [1, F] or an undefined Var (no bias). slope is the leaky
// ReLU negative slope (>= 0). The backward keeps only the output (kernels/math.h).
Var bias_act(Var x, Var bias, Activation act, float slope = 0.01f);
// act(x · w + bias): the dense layer. w: [F_in, F_out]; bias: [1, F_out] or undefined.
Var linear(Var x, Var w, Var bias = {}, Activation act = Activation::kNone, float slope = 0.01f);

inline Var relu(Var x) {
  return bias_act(x, {}, Activation::kRelu);
}
inline Var elu(Var x) {
  return bias_act(x, {}, Activation::kElu);
}
inline Var leaky_relu(Var x, float slope = 0.01f) {
  return bias_act(x, {}, Activation::kLeakyRelu, slope);
}
inline Var sigmoid(Var x) {
  return bias_act(x, {}, Activation::kSigmoid);
}
inline Var tanh(Var x) {
  return bias_act(x, {}, Activation::kTanh);
}

// Inverted dropout with drop probability p in [0, 1): the mask is regenerated in backward from
// (seed, stream) (kernels/dense.h). When !training or p = 0 it returns x itself (no node).
Var dropout(Var x, float p, uint64_t seed, uint64_t stream, bool training);

// Batch normalisation of x: [N, F] per column (torch.nn.BatchNorm1d). gamma, beta: [1, F] Vars or
// undefined. running_mean / running_var: [1, F] tensors updated in place when training (the
// caller owns them, e.g. a layer's buffers); evaluation normalises with them. Only x, gamma and
// beta receive gradients.
Var batch_norm(Var x, Var gamma, Var beta, Tensor running_mean, Tensor running_var,
               const ops::BatchNormOptions& options);

// Softmax / log-softmax of each row of x: [N, C].
Var softmax_rows(Var x);
Var log_softmax_rows(Var x);

// Elementwise. exp, log, scale keep the shape; add, mul, div broadcast numpy-style (each operand
// [N, F], [1, F], [N, 1] or [1, 1]) and reduce the gradient back to each operand's shape.
Var exp(Var x);
Var log(Var x);
Var scale(Var x, double alpha);
Var add(Var a, Var b);
Var mul(Var a, Var b);
Var div(Var a, Var b);

// The same elements in row-major order as [rows, cols] (a view of x's storage when x is
// contiguous, else a copy).
Var reshape(Var x, int64_t rows, int64_t cols);

// Reductions: sum and mean of all elements -> [1, 1]; row sums -> [N, 1]; column sums -> [1, F].
Var sum(Var x);
Var mean(Var x);
Var row_sums(Var x);
Var col_sums(Var x);

// s[n, h] = <z[n, head h], a[head h]> for z: [N, H*F], a: [1, H*F] -> [N, H] (GAT's attention
// scores): the bits of reshape(row_sums(reshape(mul(z, a), N*H, F)), N, H) and of its gradients,
// in one op.
Var head_dot(Var z, Var a, int64_t heads);

}  // namespace gkd::autograd
