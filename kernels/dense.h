// Dense elementwise, reduction, dropout and row-softmax kernels over row-major views.
//
//   axpby:             y = alpha x + beta y                      12 B/elem (f32), 3 FLOP
//   bias_act:          y = act(x + b)                            8 B/elem, <= ~20 FLOP (exp)
//   bias_act_backward: dz = dy act'(y); dx (+)= dz; db (+)= Σ_rows dz     12-16 B/elem, ~4 FLOP
//   unary:             y (+)= alpha f(x), f in {identity, exp, log}       8-12 B/elem
//   binary:            y (+)= alpha (a op b), op in {+, *, /}             12-16 B/elem
//   reduce_sum:        y (+)= alpha Σ x over all / each row / each column   4 B/elem read
//   head_dot:          s[n, h] = Σ_j z[n, hF + j] a[hF + j]                   4 B/elem read, 2 FLOP
//   head_dot_backward: dz (+)= gs a ; da (+)= Σ_rows gs z                    8-16 B/elem, 2-3 FLOP
//   dropout:           y (+)= x mask / (1 - p), mask from Philox          8-12 B/elem, ~40 int ops
//   softmax_rows:      y = softmax(x) or log_softmax(x) per row           8 B/elem (+ 4 re-read)
//   softmax_rows_backward: dx (+)= y (dy - Σ dy y)  |  dy - softmax Σ dy  12-16 B/elem
//
// Broadcast operands: where a field says "broadcast to [R, C]", its view may be [R, C], [1, C],
// [R, 1] or [1, 1]; a size-1 dimension is repeated (numpy rules, output shape fixed by y).
// Unless stated, an output may alias an input only exactly (same data and ld), never partially.
#pragma once

#include <cstdint>

#include "kernels/common.h"

namespace gkd::kernels {

// y = alpha * x + beta * y (beta = 0 overwrites y without reading it, so y may hold NaN).
template <class T>
struct AxpbyArgs {
  ConstMatView<T> x;  // [rows, cols]
  MatView<T> y;       // [rows, cols], updated in place
  T alpha;
  T beta;
};

// Activations applied after the bias. ELU uses alpha = 1; leaky ReLU takes the negative slope.
enum class Activation { kNone, kRelu, kElu, kLeakyRelu, kSigmoid, kTanh };

// y = act(x + b), b a row broadcast over the rows. Every activation's derivative is a function of
// its output (kernels/math.h), so the backward pass keeps y and never x (and y may overwrite x).
template <class T>
struct BiasActArgs {
  ConstMatView<T> x;  // [N, F]
  const T* bias;      // [F] (a [1, F] row, contiguous), or null = no bias
  Activation act;
  T slope;       // leaky ReLU negative slope, >= 0 (so sign(y) = sign(x + b)); else unused
  MatView<T> y;  // [N, F], overwritten; may alias x
};

// dz = dy * act'(y); dx (+)= dz; db (+)= column sums of dz. The column sums reduce fixed blocks
// of kSumBlockRows rows each (rows in order), then the blocks in order: the same bits at any
// thread count.
template <class T>
struct BiasActBackwardArgs {
  ConstMatView<T> y;   // [N, F], the forward output
  ConstMatView<T> dy;  // [N, F]
  Activation act;
  T slope;          // as in the forward pass
  MatView<T> dx;    // [N, F], or data = null to skip; may alias dy when overwriting
  T* dbias;         // [F] (contiguous), or null to skip
  bool accumulate;  // false: dx = dz, db = Σ dz ; true: dx += dz, db += Σ dz
};

// Rows per block of the deterministic two-level column and total sums (a CUDA twin uses the same
// blocking to reproduce the summation order).
inline constexpr int64_t kSumBlockRows = 256;

enum class UnaryOp {
  kScale,  // f(x) = x (so y = alpha x)
  kExp,    // f(x) = exp(x)
  kLog,    // f(x) = log(x); x <= 0 gives -inf / NaN, the caller's concern
};

// y (+)= alpha * f(x) elementwise.
template <class T>
struct UnaryArgs {
  UnaryOp op;
  ConstMatView<T> x;  // broadcast to [N, F] (so kScale with x = [1, 1] fills y with alpha x)
  MatView<T> y;       // [N, F]; overwritten (never read) or accumulated; may alias x if same shape
  T alpha;
  bool accumulate;
};

enum class BinaryOp { kAdd, kMul, kDiv };

// y (+)= alpha * (a op b) elementwise.
template <class T>
struct BinaryArgs {
  BinaryOp op;
  ConstMatView<T> a;  // broadcast to [N, F]
  ConstMatView<T> b;  // broadcast to [N, F]
  MatView<T> y;       // [N, F]; overwritten or accumulated; may alias a or b if same shape
  T alpha;
  bool accumulate;
};

enum class SumAxis {
  kAll,   // y: [1, 1]
  kRows,  // one sum per row, y: [N, 1]
  kCols,  // one sum per column, y: [1, F]
};

// y (+)= alpha * Σ x over the axis, accumulated in double. Row sums run left to right; column and
// total sums use the fixed blocking of kSumBlockRows (deterministic at any thread count).
template <class T>
struct ReduceSumArgs {
  ConstMatView<T> x;  // [N, F]
  SumAxis axis;
  MatView<T> y;  // [1, 1], [N, 1] or [1, F] by axis; overwritten or accumulated
  T alpha;
  bool accumulate;
};

// GAT's attention scores: s[n, h] = Σ_{j<F} z[n, hF + j] a[hF + j], each node's projected
// features dotted with head h's attention vector (F = z.cols / heads). Each product is rounded to
// T and the F of a head are summed left to right in double from 0: the bits of row_sums(z * a)
// over the [N H, F] reshape, which this fuses (one pass, no [N, H F] product in memory).
template <class T>
struct HeadDotArgs {
  ConstMatView<T> z;  // [N, H*F]
  const T* a;         // [H*F] (a [1, H*F] row, contiguous)
  int64_t heads;      // H >= 1, divides z.cols
  MatView<T> s;       // [N, H], overwritten
};

// The backward of head_dot, again the bits of the unfused ops' backward:
//   dz[n, hF + j] (+)= T(gs[n, h] a[hF + j])           (added in T when accumulating)
//   da[hF + j]    (+)= Σ_n T(gs[n, h] z[n, hF + j])   (in double, blocks of kSumBlockRows rows in
//                                                       order, then the blocks in order)
template <class T>
struct HeadDotBackwardArgs {
  ConstMatView<T> z;   // [N, H*F], the forward input
  const T* a;          // [H*F] (contiguous)
  int64_t heads;       // H, as in the forward
  ConstMatView<T> gs;  // [N, H]
  MatView<T> dz;       // [N, H*F], or data = null to skip; never aliases z or gs
  bool dz_accumulate;  // false: dz = ..., true: dz += ...
  T* da;               // [H*F] (contiguous), or null to skip
  bool da_accumulate;
};

// Inverted dropout:  y (+)= keep(i, j) ? x(i, j) * scale : 0  with scale = T(1) / (T(1) - T(p))
// computed once, and keep(i, j) = philox_uniform(seed, stream, i * x.cols + j) >= p (a float
// compare; kernels/philox.h). The element index is the *logical* row-major index i * cols + j of
// the [N, F] view (independent of ld), so a twin reproduces the mask bit for bit. The backward
// pass is the same kernel on dy with the same (seed, stream): the mask is regenerated, not stored.
// The backward call may also pass the forward call's input and output (fwd_x, fwd_y): where the
// forward input is finite and nonzero, its output is nonzero exactly when the element was kept
// (scale >= 1), so a twin may read the mask off them instead of regenerating it, with the same
// result either way (the CPU twin does so for every run of elements whose inputs all qualify).
template <class T>
struct DropoutArgs {
  ConstMatView<T> x;  // [N, F] (dy in the backward pass)
  MatView<T> y;       // [N, F]; overwritten or accumulated; may alias x when overwriting
  float p;            // drop probability in [0, 1); p = 0 keeps everything (scale 1)
  uint64_t seed;
  uint64_t stream;
  bool accumulate;
  ConstMatView<T> fwd_x = {}, fwd_y = {};  // [N, F] each, or null data (backward only)
};

// Per row r: y = softmax(x_r) = exp(x_r - m) / Σ exp(x_r - m), m = max(x_r), or its log
// (x_r - m - log Σ exp(x_r - m)). Max and sum in double.
template <class T>
struct SoftmaxArgs {
  ConstMatView<T> x;  // [N, C]
  MatView<T> y;       // [N, C], overwritten; may alias x
  bool log;           // log-softmax
};

// softmax:      dx (+)= y * (dy - Σ_c dy y)
// log-softmax:  dx (+)= dy - exp(y) * Σ_c dy          (y is the log-softmax output)
// Row sums in double.
template <class T>
struct SoftmaxBackwardArgs {
  ConstMatView<T> y;   // [N, C], the forward output
  ConstMatView<T> dy;  // [N, C]
  MatView<T> dx;       // [N, C]; overwritten or accumulated; may alias dy when overwriting
  bool log;
  bool accumulate;
};

}  // namespace gkd::kernels
