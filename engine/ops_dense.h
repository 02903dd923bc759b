// Tensor-level dense ops: validate once, then run the CPU or CUDA twin of a kernel
// (kernels/dense.h, kernels/gemm.h). Out-parameter forms write into a given tensor (a view is
// fine); the value-returning forms allocate the result on the context's device.
#pragma once

#include <cstdint>

#include "engine/context.h"
#include "engine/tensor.h"
#include "kernels/dense.h"

namespace gkd::ops {

using kernels::Activation;

// y = alpha * x + beta * y; x and y have the same shape and floating dtype.
void axpby(const Context& ctx, double alpha, const Tensor& x, double beta, Tensor& y);
inline void axpy(const Context& ctx, double alpha, const Tensor& x, Tensor& y) {
  axpby(ctx, alpha, x, 1.0, y);
}

// ---- GEMM

// c = alpha * op(a) * op(b) + beta * c with op(a): [M, K], op(b): [K, N], c: [M, N]. beta = 0
// never reads c. c must not overlap a or b.
void gemm(const Context& ctx, const Tensor& a, bool trans_a, const Tensor& b, bool trans_b,
          Tensor& c, double alpha = 1.0, double beta = 0.0);
// op(a) * op(b) as a new tensor.
Tensor matmul(const Context& ctx, const Tensor& a, const Tensor& b, bool trans_a = false,
              bool trans_b = false);

// How the `batch` matrices of a batched operand are packed into one tensor.
enum class Pack {
  kRows,    // stacked vertically: [batch * rows, cols] (e.g. K weight matrices)
  kCols,    // side by side: [rows, batch * cols] (e.g. K students' features [N, K*F])
  kShared,  // one matrix used by every item (A or B only)
};
// c_k = alpha * op(a_k) * op(b_k) + beta * c_k for k < batch, one strided-batched GEMM.
void gemm_batched(const Context& ctx, int64_t batch, const Tensor& a, Pack pack_a, bool trans_a,
                  const Tensor& b, Pack pack_b, bool trans_b, Tensor& c, Pack pack_c,
                  double alpha = 1.0, double beta = 0.0);

// ---- bias + activation

// y = act(x + bias); x, y: [N, F]; bias: [1, F] or undefined. slope: leaky ReLU negative slope
// (>= 0). y may be x itself (in place).
void bias_act(const Context& ctx, const Tensor& x, const Tensor& bias, Activation act, double slope,
              Tensor& y);
Tensor bias_act(const Context& ctx, const Tensor& x, const Tensor& bias, Activation act,
                double slope = 0.01);
// From the forward output y: dx (+)= dy * act'(y) and, when dbias is given, dbias (+)= its column
// sums. dx may be undefined (only the bias gradient is wanted). y, dy, dx: [N, F]; dbias: [1, F].
void bias_act_backward(const Context& ctx, const Tensor& y, const Tensor& dy, Activation act,
                       double slope, Tensor& dx, Tensor* dbias = nullptr, bool accumulate = false);

// ---- elementwise and reductions. Operands of unary/binary broadcast numpy-style to y's shape:
// each may be [N, F], [1, F], [N, 1] or [1, 1] for y: [N, F].

using kernels::BinaryOp;
using kernels::SumAxis;
using kernels::UnaryOp;

// y (+)= alpha * f(x) for f = identity (kScale), exp, log.
void unary(const Context& ctx, UnaryOp op, const Tensor& x, Tensor& y, double alpha = 1.0,
           bool accumulate = false);
Tensor exp(const Context& ctx, const Tensor& x);
Tensor log(const Context& ctx, const Tensor& x);
Tensor scale(const Context& ctx, const Tensor& x, double alpha);

// y (+)= alpha * (a op b).
void binary(const Context& ctx, BinaryOp op, const Tensor& a, const Tensor& b, Tensor& y,
            double alpha = 1.0, bool accumulate = false);
// a op b with the broadcast shape of a and b.
Tensor add(const Context& ctx, const Tensor& a, const Tensor& b);
Tensor mul(const Context& ctx, const Tensor& a, const Tensor& b);
Tensor div(const Context& ctx, const Tensor& a, const Tensor& b);

// y (+)= alpha * Σ x over all elements (y: [1, 1]), each row (y: [N, 1]) or each column
// (y: [1, F]). Deterministic at any thread count.
void reduce_sum(const Context& ctx, const Tensor& x, SumAxis axis, Tensor& y, double alpha = 1.0,
                bool accumulate = false);
Tensor sum(const Context& ctx, const Tensor& x);       // [1, 1]
Tensor row_sums(const Context& ctx, const Tensor& x);  // [N, 1]
Tensor col_sums(const Context& ctx, const Tensor& x);  // [1, F]

// ---- head dot (GAT attention scores; kernels/dense.h HeadDotArgs)
// s[n, h] = Σ_j z[n, hF + j] a[hF + j] with F = z.cols / heads; z: [N, H*F], a: [1, H*F].
void head_dot(const Context& ctx, const Tensor& z, const Tensor& a, int64_t heads, Tensor& s);
Tensor head_dot(const Context& ctx, const Tensor& z, const Tensor& a, int64_t heads);  // [N, H]
// dz (+)= gs a per head; da (+)= Σ_rows gs z per column. A null output is skipped.
void head_dot_backward(const Context& ctx, const Tensor& z, const Tensor& a, int64_t heads,
                       const Tensor& gs, Tensor* dz, bool dz_accumulate, Tensor* da,
                       bool da_accumulate);

// ---- dropout: y (+)= x * mask / (1 - p), mask(i, j) = philox_uniform(seed, stream, i*F + j) >= p
// (kernels/dense.h). The backward pass is the same call on dy (with accumulate), optionally given
// the forward call's input and output, from which the CPU twin reads most of the mask instead of
// regenerating it (the same result). p in [0, 1).
struct DropoutForward {
  const Tensor& x;  // [N, F], the forward call's input
  const Tensor& y;  // [N, F], its output
};
void dropout(const Context& ctx, const Tensor& x, double p, uint64_t seed, uint64_t stream,
             Tensor& y, bool accumulate = false, const DropoutForward* forward = nullptr);
Tensor dropout(const Context& ctx, const Tensor& x, double p, uint64_t seed, uint64_t stream);

// ---- row softmax / log-softmax over each row of x: [N, C] (y may be x itself).
void softmax_rows(const Context& ctx, const Tensor& x, Tensor& y, bool log = false);
Tensor softmax_rows(const Context& ctx, const Tensor& x);
Tensor log_softmax_rows(const Context& ctx, const Tensor& x);
// From the forward output y (softmax, or log-softmax when log): dx (+)= the input gradient.
void softmax_rows_backward(const Context& ctx, const Tensor& y, const Tensor& dy, Tensor& dx,
                           bool log = false, bool accumulate = false);

}  // namespace gkd::ops
