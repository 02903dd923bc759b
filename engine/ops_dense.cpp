#include "engine/ops_dense.h"

#include <algorithm>
#include <limits>

#include "engine/dispatch.h"
#include "kernels/registry.h"

namespace gkd::ops {

using namespace detail;

namespace {

const char* bytes_begin(const Tensor& t) {
  return static_cast<const char*>(t.raw_data());
}
const char* bytes_end(const Tensor& t) {
  const int64_t elems = t.numel() == 0 ? 0 : (t.rows() - 1) * t.ld() + t.cols();
  return bytes_begin(t) + elems * static_cast<int64_t>(dtype_size(t.dtype()));
}

// The kernels' outputs must not partially overlap their inputs (GEMM: not at all).
void check_disjoint(const char* op, const char* out_name, const Tensor& out, const char* in_name,
                    const Tensor& in) {
  if (out.numel() == 0 || in.numel() == 0) return;
  const bool overlap = bytes_begin(out) < bytes_end(in) && bytes_begin(in) < bytes_end(out);
  GKD_CHECK(!overlap, "[", op, "] ", out_name, " overlaps ", in_name,
            " in memory (the output must be a separate tensor)");
}

// An operand broadcast numpy-style to [rows, cols]: each dimension equal or 1.
void check_broadcast(const char* op, const char* name, const Tensor& t, int64_t rows,
                     int64_t cols) {
  GKD_CHECK((t.rows() == rows || t.rows() == 1) && (t.cols() == cols || t.cols() == 1), "[", op,
            "] ", name, " is [", t.rows(), ", ", t.cols(), "] (expected [", rows, ", ", cols,
            "], or 1 in place of either dimension to broadcast)");
}

int64_t broadcast_dim(const char* op, const Tensor& a, const Tensor& b, int64_t da, int64_t db) {
  GKD_CHECK(da == db || da == 1 || db == 1, "[", op, "] a is [", a.rows(), ", ", a.cols(),
            "] and b is [", b.rows(), ", ", b.cols(), "]: the shapes do not broadcast");
  return da == 1 ? db : da;
}

// op(t) dimensions of a GEMM operand.
int64_t op_rows(const Tensor& t, bool trans) {
  return trans ? t.cols() : t.rows();
}
int64_t op_cols(const Tensor& t, bool trans) {
  return trans ? t.rows() : t.cols();
}

// Validates one GEMM's operands (item 0 in the batched case) and returns its kernel Args.
template <class T>
kernels::GemmArgs<T> gemm_args(const char* op, const Tensor& a, bool trans_a, const Tensor& b,
                               bool trans_b, Tensor& c, double alpha, double beta) {
  GKD_CHECK(op_cols(a, trans_a) == op_rows(b, trans_b), "[", op, "] op(a) is [",
            op_rows(a, trans_a), ", ", op_cols(a, trans_a), "] but op(b) is [", op_rows(b, trans_b),
            ", ", op_cols(b, trans_b), "] (inner dimensions differ)");
  check_shape(op, "c", c, op_rows(a, trans_a), op_cols(b, trans_b));
  return {a.cview<T>(),
          trans_a,
          b.cview<T>(),
          trans_b,
          c.view<T>(),
          static_cast<T>(alpha),
          static_cast<T>(beta),
          1,
          0,
          0,
          0};
}

void check_gemm_inputs(const Context& ctx, const char* op, const Tensor& a, const Tensor& b,
                       const Tensor& c) {
  check_on(ctx, op, "a", a);
  check_on(ctx, op, "b", b);
  check_on(ctx, op, "c", c);
  check_dtype(op, "b", b, a.dtype());
  check_dtype(op, "c", c, a.dtype());
  check_disjoint(op, "c", c, "a", a);
  check_disjoint(op, "c", c, "b", b);
  // cuBLAS takes 32-bit sizes and leading dimensions.
  constexpr int64_t kInt = std::numeric_limits<int32_t>::max();
  for (const Tensor* t : {&a, &b, &c}) {
    GKD_CHECK(!ctx.is_cuda() || (t->rows() <= kInt && t->cols() <= kInt && t->ld() <= kInt), "[",
              op, "] ", t->describe(), " exceeds cuBLAS's 32-bit sizes");
  }
}

// Item 0 of a packed batch operand and the element stride between items.
struct BatchItem {
  Tensor first;
  int64_t stride;
};
BatchItem batch_item(const char* name, const Tensor& t, Pack pack, int64_t batch) {
  switch (pack) {
    case Pack::kRows:
      GKD_CHECK(t.rows() % batch == 0, "[gemm_batched] ", name, " has ", t.rows(),
                " rows, not a multiple of the batch of ", batch, " (packed by rows)");
      return {t.slice_rows(0, t.rows() / batch), t.rows() / batch * t.ld()};
    case Pack::kCols:
      GKD_CHECK(t.cols() % batch == 0, "[gemm_batched] ", name, " has ", t.cols(),
                " columns, not a multiple of the batch of ", batch, " (packed by columns)");
      return {t.slice_cols(0, t.cols() / batch), t.cols() / batch};
    case Pack::kShared:
      return {t, 0};
  }
  GKD_FAIL("[gemm_batched] unknown packing of ", name);
}

}  // namespace

void axpby(const Context& ctx, double alpha, const Tensor& x, double beta, Tensor& y) {
  check_on(ctx, "axpby", "x", x);
  check_tensor(ctx, "axpby", "y", y, x.rows(), x.cols(), x.dtype());
  dispatch_float(ctx, "axpby", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::AxpbyArgs<T> a{x.cview<T>(), y.view<T>(), static_cast<T>(alpha), static_cast<T>(beta)};
    launch(ctx, a, kernels::cpu::axpby<T>, kernels::cuda::axpby);
  });
}

// ---- GEMM

void gemm(const Context& ctx, const Tensor& a, bool trans_a, const Tensor& b, bool trans_b,
          Tensor& c, double alpha, double beta) {
  check_gemm_inputs(ctx, "gemm", a, b, c);
  dispatch_float(ctx, "gemm", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::GemmArgs<T> args = gemm_args<T>("gemm", a, trans_a, b, trans_b, c, alpha, beta);
    if (ctx.is_cuda()) args.blas = ctx.cublas();
    launch(ctx, args, kernels::cpu::gemm<T>, kernels::cuda::gemm);
  });
}

Tensor matmul(const Context& ctx, const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  check_on(ctx, "matmul", "a", a);
  check_on(ctx, "matmul", "b", b);
  Tensor c = Tensor::empty(op_rows(a, trans_a), op_cols(b, trans_b), a.dtype(), ctx.device());
  gemm(ctx, a, trans_a, b, trans_b, c);  // [M, N]
  return c;
}

void gemm_batched(const Context& ctx, int64_t batch, const Tensor& a, Pack pack_a, bool trans_a,
                  const Tensor& b, Pack pack_b, bool trans_b, Tensor& c, Pack pack_c, double alpha,
                  double beta) {
  const char* op = "gemm_batched";
  check_gemm_inputs(ctx, op, a, b, c);
  GKD_CHECK(batch >= 1, "[", op, "] batch is ", batch, " (expected >= 1)");
  GKD_CHECK(pack_c != Pack::kShared || batch == 1, "[", op,
            "] c cannot be shared across a batch of ", batch, " (the items would race)");
  const BatchItem ia = batch_item("a", a, pack_a, batch), ib = batch_item("b", b, pack_b, batch);
  BatchItem ic = batch_item("c", c, pack_c, batch);
  dispatch_float(ctx, op, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::GemmArgs<T> args =
        gemm_args<T>(op, ia.first, trans_a, ib.first, trans_b, ic.first, alpha, beta);
    args.batch = batch;
    args.stride_a = ia.stride;
    args.stride_b = ib.stride;
    args.stride_c = ic.stride;
    if (ctx.is_cuda()) args.blas = ctx.cublas();
    launch(ctx, args, kernels::cpu::gemm<T>, kernels::cuda::gemm);
  });
}

// ---- bias + activation

void bias_act(const Context& ctx, const Tensor& x, const Tensor& bias, Activation act, double slope,
              Tensor& y) {
  check_on(ctx, "bias_act", "x", x);
  check_tensor(ctx, "bias_act", "y", y, x.rows(), x.cols(), x.dtype());
  if (bias.defined()) {
    check_on(ctx, "bias_act", "bias", bias);
    check_dtype("bias_act", "bias", bias, x.dtype());
    check_shape("bias_act", "bias", bias, 1, x.cols());
  }
  GKD_CHECK(act != Activation::kLeakyRelu || slope >= 0, "[bias_act] leaky_relu slope is ", slope,
            " (expected >= 0)");
  dispatch_float(ctx, "bias_act", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::BiasActArgs<T> a{x.cview<T>(), bias.defined() ? bias.data<T>() : nullptr, act,
                              static_cast<T>(slope), y.view<T>()};
    launch(ctx, a, kernels::cpu::bias_act<T>, kernels::cuda::bias_act);
  });
}

Tensor bias_act(const Context& ctx, const Tensor& x, const Tensor& bias, Activation act,
                double slope) {
  check_on(ctx, "bias_act", "x", x);
  Tensor y = Tensor::empty(x.rows(), x.cols(), x.dtype(), ctx.device());  // [N, F]
  bias_act(ctx, x, bias, act, slope, y);
  return y;
}

void bias_act_backward(const Context& ctx, const Tensor& y, const Tensor& dy, Activation act,
                       double slope, Tensor& dx, Tensor* dbias, bool accumulate) {
  const char* op = "bias_act_backward";
  check_on(ctx, op, "y", y);
  check_tensor(ctx, op, "dy", dy, y.rows(), y.cols(), y.dtype());
  if (dx.defined()) {
    check_on(ctx, op, "dx", dx);
    check_dtype(op, "dx", dx, y.dtype());
    check_shape(op, "dx", dx, y.rows(), y.cols());
  }
  const bool with_bias = dbias != nullptr && dbias->defined();
  if (with_bias) {
    check_on(ctx, op, "dbias", *dbias);
    check_dtype(op, "dbias", *dbias, y.dtype());
    check_shape(op, "dbias", *dbias, 1, y.cols());
  }
  GKD_CHECK(act != Activation::kLeakyRelu || slope >= 0, "[", op, "] leaky_relu slope is ", slope,
            " (expected >= 0)");
  dispatch_float(ctx, op, y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::BiasActBackwardArgs<T> a{y.cview<T>(),
                                      dy.cview<T>(),
                                      act,
                                      static_cast<T>(slope),
                                      dx.defined() ? dx.view<T>() : kernels::MatView<T>{},
                                      with_bias ? dbias->data<T>() : nullptr,
                                      accumulate};
    launch(ctx, a, kernels::cpu::bias_act_backward<T>, kernels::cuda::bias_act_backward);
  });
}

// ---- elementwise and reductions

void unary(const Context& ctx, UnaryOp op, const Tensor& x, Tensor& y, double alpha,
           bool accumulate) {
  check_on(ctx, "unary", "x", x);
  check_on(ctx, "unary", "y", y);
  check_dtype("unary", "y", y, x.dtype());
  check_broadcast("unary", "x", x, y.rows(), y.cols());
  if (!x.same_shape(y)) check_disjoint("unary", "y", y, "x", x);
  dispatch_float(ctx, "unary", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::UnaryArgs<T> a{op, x.cview<T>(), y.view<T>(), static_cast<T>(alpha), accumulate};
    launch(ctx, a, kernels::cpu::unary<T>, kernels::cuda::unary);
  });
}

namespace {
Tensor unary_new(const Context& ctx, UnaryOp op, const Tensor& x, double alpha) {
  check_on(ctx, "unary", "x", x);
  Tensor y = Tensor::empty(x.rows(), x.cols(), x.dtype(), ctx.device());  // [N, F]
  unary(ctx, op, x, y, alpha);
  return y;
}
}  // namespace

Tensor exp(const Context& ctx, const Tensor& x) {
  return unary_new(ctx, UnaryOp::kExp, x, 1.0);
}
Tensor log(const Context& ctx, const Tensor& x) {
  return unary_new(ctx, UnaryOp::kLog, x, 1.0);
}
Tensor scale(const Context& ctx, const Tensor& x, double alpha) {
  return unary_new(ctx, UnaryOp::kScale, x, alpha);
}

void binary(const Context& ctx, BinaryOp op, const Tensor& a, const Tensor& b, Tensor& y,
            double alpha, bool accumulate) {
  check_on(ctx, "binary", "a", a);
  check_on(ctx, "binary", "b", b);
  check_on(ctx, "binary", "y", y);
  check_dtype("binary", "b", b, a.dtype());
  check_dtype("binary", "y", y, a.dtype());
  check_broadcast("binary", "a", a, y.rows(), y.cols());
  check_broadcast("binary", "b", b, y.rows(), y.cols());
  if (!a.same_shape(y)) check_disjoint("binary", "y", y, "a", a);
  if (!b.same_shape(y)) check_disjoint("binary", "y", y, "b", b);
  dispatch_float(ctx, "binary", a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::BinaryArgs<T> args{op,          a.cview<T>(),          b.cview<T>(),
                                y.view<T>(), static_cast<T>(alpha), accumulate};
    launch(ctx, args, kernels::cpu::binary<T>, kernels::cuda::binary);
  });
}

namespace {
Tensor binary_new(const Context& ctx, const char* name, BinaryOp op, const Tensor& a,
                  const Tensor& b) {
  check_on(ctx, name, "a", a);
  check_on(ctx, name, "b", b);
  const int64_t rows = broadcast_dim(name, a, b, a.rows(), b.rows());
  const int64_t cols = broadcast_dim(name, a, b, a.cols(), b.cols());
  Tensor y = Tensor::empty(rows, cols, a.dtype(), ctx.device());  // [N, F]
  binary(ctx, op, a, b, y);
  return y;
}
}  // namespace

Tensor add(const Context& ctx, const Tensor& a, const Tensor& b) {
  return binary_new(ctx, "add", BinaryOp::kAdd, a, b);
}
Tensor mul(const Context& ctx, const Tensor& a, const Tensor& b) {
  return binary_new(ctx, "mul", BinaryOp::kMul, a, b);
}
Tensor div(const Context& ctx, const Tensor& a, const Tensor& b) {
  return binary_new(ctx, "div", BinaryOp::kDiv, a, b);
}

void reduce_sum(const Context& ctx, const Tensor& x, SumAxis axis, Tensor& y, double alpha,
                bool accumulate) {
  check_on(ctx, "reduce_sum", "x", x);
  check_tensor(ctx, "reduce_sum", "y", y, axis == SumAxis::kRows ? x.rows() : 1,
               axis == SumAxis::kCols ? x.cols() : 1, x.dtype());
  check_disjoint("reduce_sum", "y", y, "x", x);
  dispatch_float(ctx, "reduce_sum", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::ReduceSumArgs<T> a{x.cview<T>(), axis, y.view<T>(), static_cast<T>(alpha), accumulate};
    launch(ctx, a, kernels::cpu::reduce_sum<T>, kernels::cuda::reduce_sum);
  });
}

// ---- head dot

namespace {
void check_head_dot_inputs(const Context& ctx, const char* op, const Tensor& z, const Tensor& a,
                           int64_t heads) {
  check_on(ctx, op, "z", z);
  GKD_CHECK(heads >= 1 && z.cols() % heads == 0, "[", op, "] z has ", z.cols(),
            " columns, not a multiple of heads = ", heads);
  check_tensor(ctx, op, "a", a, 1, z.cols(), z.dtype());
}
}  // namespace

void head_dot(const Context& ctx, const Tensor& z, const Tensor& a, int64_t heads, Tensor& s) {
  check_head_dot_inputs(ctx, "head_dot", z, a, heads);
  check_tensor(ctx, "head_dot", "s", s, z.rows(), heads, z.dtype());
  check_disjoint("head_dot", "s", s, "z", z);
  dispatch_float(ctx, "head_dot", z.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::HeadDotArgs<T> args{z.cview<T>(), a.data<T>(), heads, s.view<T>()};
    launch(ctx, args, kernels::cpu::head_dot<T>, kernels::cuda::head_dot);
  });
}

Tensor head_dot(const Context& ctx, const Tensor& z, const Tensor& a, int64_t heads) {
  check_on(ctx, "head_dot", "z", z);
  Tensor s = Tensor::empty(z.rows(), heads, z.dtype(), ctx.device());  // [N, H]
  head_dot(ctx, z, a, heads, s);
  return s;
}

void head_dot_backward(const Context& ctx, const Tensor& z, const Tensor& a, int64_t heads,
                       const Tensor& gs, Tensor* dz, bool dz_accumulate, Tensor* da,
                       bool da_accumulate) {
  const char* op = "head_dot_backward";
  check_head_dot_inputs(ctx, op, z, a, heads);
  check_tensor(ctx, op, "gs", gs, z.rows(), heads, z.dtype());
  if (dz != nullptr) {
    check_tensor(ctx, op, "dz", *dz, z.rows(), z.cols(), z.dtype());
    check_disjoint(op, "dz", *dz, "z", z);
    check_disjoint(op, "dz", *dz, "gs", gs);
  }
  if (da != nullptr) {
    check_tensor(ctx, op, "da", *da, 1, z.cols(), z.dtype());
    check_disjoint(op, "da", *da, "a", a);
  }
  dispatch_float(ctx, op, z.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::HeadDotBackwardArgs<T> args{z.cview<T>(),
                                         a.data<T>(),
                                         heads,
                                         gs.cview<T>(),
                                         dz ? dz->view<T>() : kernels::MatView<T>{},
                                         dz_accumulate,
                                         da ? da->data<T>() : nullptr,
                                         da_accumulate};
    launch(ctx, args, kernels::cpu::head_dot_backward<T>, kernels::cuda::head_dot_backward);
  });
}

namespace {
Tensor reduce_new(const Context& ctx, const Tensor& x, SumAxis axis) {
  check_on(ctx, "reduce_sum", "x", x);
  Tensor y = Tensor::empty(axis == SumAxis::kRows ? x.rows() : 1,
                           axis == SumAxis::kCols ? x.cols() : 1, x.dtype(), ctx.device());
  reduce_sum(ctx, x, axis, y);
  return y;
}
}  // namespace

Tensor sum(const Context& ctx, const Tensor& x) {
  return reduce_new(ctx, x, SumAxis::kAll);
}
Tensor row_sums(const Context& ctx, const Tensor& x) {
  return reduce_new(ctx, x, SumAxis::kRows);
}
Tensor col_sums(const Context& ctx, const Tensor& x) {
  return reduce_new(ctx, x, SumAxis::kCols);
}

// ---- dropout

void dropout(const Context& ctx, const Tensor& x, double p, uint64_t seed, uint64_t stream,
             Tensor& y, bool accumulate, const DropoutForward* forward) {
  check_on(ctx, "dropout", "x", x);
  check_tensor(ctx, "dropout", "y", y, x.rows(), x.cols(), x.dtype());
  if (forward) {
    check_tensor(ctx, "dropout", "forward x", forward->x, x.rows(), x.cols(), x.dtype());
    check_tensor(ctx, "dropout", "forward y", forward->y, x.rows(), x.cols(), x.dtype());
  }
  // The kernels hold p as a float: a double just below 1 would round up to 1 (infinite scale).
  GKD_CHECK(p >= 0.0 && p < 1.0 && static_cast<float>(p) < 1.0f, "[dropout] p is ", p,
            " (expected 0 <= p < 1)");
  dispatch_float(ctx, "dropout", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::DropoutArgs<T> a{x.cview<T>(), y.view<T>(), static_cast<float>(p),
                              seed,         stream,      accumulate};
    if (forward) {
      a.fwd_x = forward->x.cview<T>();
      a.fwd_y = forward->y.cview<T>();
    }
    launch(ctx, a, kernels::cpu::dropout<T>, kernels::cuda::dropout);
  });
}

Tensor dropout(const Context& ctx, const Tensor& x, double p, uint64_t seed, uint64_t stream) {
  check_on(ctx, "dropout", "x", x);
  Tensor y = Tensor::empty(x.rows(), x.cols(), x.dtype(), ctx.device());  // [N, F]
  dropout(ctx, x, p, seed, stream, y);
  return y;
}

// ---- row softmax

void softmax_rows(const Context& ctx, const Tensor& x, Tensor& y, bool log) {
  const char* op = log ? "log_softmax_rows" : "softmax_rows";
  check_on(ctx, op, "x", x);
  check_tensor(ctx, op, "y", y, x.rows(), x.cols(), x.dtype());
  dispatch_float(ctx, op, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::SoftmaxArgs<T> a{x.cview<T>(), y.view<T>(), log};
    launch(ctx, a, kernels::cpu::softmax_rows<T>, kernels::cuda::softmax_rows);
  });
}

Tensor softmax_rows(const Context& ctx, const Tensor& x) {
  check_on(ctx, "softmax_rows", "x", x);
  Tensor y = Tensor::empty(x.rows(), x.cols(), x.dtype(), ctx.device());  // [N, C]
  softmax_rows(ctx, x, y, false);
  return y;
}

Tensor log_softmax_rows(const Context& ctx, const Tensor& x) {
  check_on(ctx, "log_softmax_rows", "x", x);
  Tensor y = Tensor::empty(x.rows(), x.cols(), x.dtype(), ctx.device());  // [N, C]
  softmax_rows(ctx, x, y, true);
  return y;
}

void softmax_rows_backward(const Context& ctx, const Tensor& y, const Tensor& dy, Tensor& dx,
                           bool log, bool accumulate) {
  const char* op = log ? "log_softmax_rows_backward" : "softmax_rows_backward";
  check_on(ctx, op, "y", y);
  check_on(ctx, op, "dy", dy);
  check_on(ctx, op, "dx", dx);
  check_dtype(op, "dy", dy, y.dtype());
  check_dtype(op, "dx", dx, y.dtype());
  check_shape(op, "dy", dy, y.rows(), y.cols());
  check_shape(op, "dx", dx, y.rows(), y.cols());
  dispatch_float(ctx, op, y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::SoftmaxBackwardArgs<T> a{y.cview<T>(), dy.cview<T>(), dx.view<T>(), log, accumulate};
    launch(ctx, a, kernels::cpu::softmax_rows_backward<T>, kernels::cuda::softmax_rows_backward);
  });
}

}  // namespace gkd::ops
