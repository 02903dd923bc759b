#include "autograd/functions_dense.h"

#include <optional>

#include "engine/error.h"
#include "engine/ops_dense.h"

namespace gkd::autograd {

namespace {

// grad (+)= alpha * full summed down to grad's shape: the adjoint of a numpy broadcast of a
// [1, 1], [1, F] or [N, 1] operand to full's [N, F].
void accumulate_reduced(const Context& ctx, const Tensor& full, Tape::GradSlot grad,
                        double alpha = 1.0) {
  Tensor& g = grad.grad;
  if (g.same_shape(full)) {
    ops::axpby(ctx, alpha, full, grad.accumulate ? 1.0 : 0.0, g);
  } else if (g.rows() == 1 && g.cols() == 1) {
    ops::reduce_sum(ctx, full, ops::SumAxis::kAll, g, alpha, grad.accumulate);
  } else if (g.rows() == 1) {
    ops::reduce_sum(ctx, full, ops::SumAxis::kCols, g, alpha, grad.accumulate);
  } else {
    ops::reduce_sum(ctx, full, ops::SumAxis::kRows, g, alpha, grad.accumulate);
  }
}

// grad (+)= alpha * (u op v) reduced to grad's shape; u op v has the output's shape [N, F].
void accumulate_binary(const Context& ctx, ops::BinaryOp op, const Tensor& u, const Tensor& v,
                       const Tensor& out_like, Tape::GradSlot grad, double alpha) {
  if (grad.grad.same_shape(out_like)) {
    ops::binary(ctx, op, u, v, grad.grad, alpha, grad.accumulate);
    return;
  }
  Tensor full = Tensor::empty(out_like.rows(), out_like.cols(), grad.grad.dtype(), ctx.device());
  ops::binary(ctx, op, u, v, full);  // [N, F]
  accumulate_reduced(ctx, full, grad, alpha);
}

// C (+)= op(a) op(b) into a gradient slot.
void gemm_into(const Context& ctx, const Tensor& a, bool trans_a, const Tensor& b, bool trans_b,
               Tape::GradSlot c) {
  ops::gemm(ctx, a, trans_a, b, trans_b, c.grad, 1.0, c.accumulate ? 1.0 : 0.0);
}

}  // namespace

Var matmul(Var a, Var b) {
  Tape& tape = a.tape();
  Tensor y = ops::matmul(tape.context(), a.value(), b.value());  // [M, N]
  return tape.record("matmul", std::move(y), {a, b}, [a, b](Tape& t, const Tensor& gy) {
    const Context& c = t.context();
    // da += gy · bᵀ ; db += aᵀ · gy
    if (t.needs_grad(a)) gemm_into(c, gy, false, b.value(), true, t.grad_slot(a));
    if (t.needs_grad(b)) gemm_into(c, a.value(), true, gy, false, t.grad_slot(b));
  });
}

Var bias_act(Var x, Var bias, Activation act, float slope) {
  Tape& tape = x.tape();
  const Tensor b = bias.defined() ? bias.value() : Tensor();           // [1, F] or none
  Tensor y = ops::bias_act(tape.context(), x.value(), b, act, slope);  // [N, F]
  auto backward = [x, bias, act, slope, y](Tape& t, const Tensor& gy) {
    std::optional<Tape::GradSlot> dx, db;
    if (t.needs_grad(x)) dx.emplace(t.grad_slot(x));
    if (bias.defined() && t.needs_grad(bias)) db.emplace(t.grad_slot(bias));
    if (!dx && !db) return;
    // One accumulate flag serves both: a fresh slot beside a running sum starts from zero.
    const bool accumulate = (dx && dx->accumulate) || (db && db->accumulate);
    for (std::optional<Tape::GradSlot>* slot : {&dx, &db}) {
      if (*slot && accumulate && !(*slot)->accumulate) (*slot)->grad.zero();
    }
    Tensor none;
    ops::bias_act_backward(t.context(), y, gy, act, slope, dx ? dx->grad : none,
                           db ? &db->grad : nullptr, accumulate);
  };
  if (bias.defined()) return tape.record("bias_act", std::move(y), {x, bias}, backward);
  return tape.record("bias_act", std::move(y), {x}, backward);
}

Var linear(Var x, Var w, Var bias, Activation act, float slope) {
  Var h = matmul(x, w);  // [N, F_out]
  if (!bias.defined() && act == Activation::kNone) return h;
  return bias_act(h, bias, act, slope);
}

Var batch_norm(Var x, Var gamma, Var beta, Tensor running_mean, Tensor running_var,
               const ops::BatchNormOptions& options) {
  Tape& tape = x.tape();
  const Tensor g = gamma.defined() ? gamma.value() : Tensor();  // [1, F] or none
  const Tensor b = beta.defined() ? beta.value() : Tensor();    // [1, F] or none
  ops::BatchNormSaved saved;
  Tensor y = ops::batch_norm(tape.context(), x.value(), g, b, running_mean, running_var, options,
                             &saved);  // [N, F]
  auto backward = [x, gamma, beta, g, saved, training = options.training](Tape& t,
                                                                          const Tensor& gy) {
    Tensor* dx = t.needs_grad(x) ? &t.grad_of(x) : nullptr;
    Tensor* dg = gamma.defined() && t.needs_grad(gamma) ? &t.grad_of(gamma) : nullptr;
    Tensor* db = beta.defined() && t.needs_grad(beta) ? &t.grad_of(beta) : nullptr;
    ops::batch_norm_backward(t.context(), x.value(), gy, g, saved, training, dx, dg, db, true);
  };
  if (gamma.defined() && beta.defined()) {
    return tape.record("batch_norm", std::move(y), {x, gamma, beta}, backward);
  }
  GKD_CHECK(!gamma.defined() && !beta.defined(),
            "[batch_norm] gamma and beta must be given together");
  return tape.record("batch_norm", std::move(y), {x}, backward);
}

Var dropout(Var x, float p, uint64_t seed, uint64_t stream, bool training) {
  GKD_CHECK(p >= 0.0f && p < 1.0f, "[dropout] p is ", p, " (expected 0 <= p < 1)");
  if (!training || p == 0.0f) return x;
  Tape& tape = x.tape();
  Tensor y = ops::dropout(tape.context(), x.value(), p, seed, stream);  // [N, F]
  const Tensor out = y;
  return tape.record(
      "dropout", std::move(y), {x}, [x, p, seed, stream, out](Tape& t, const Tensor& gy) {
        // The forward mask again: the same (seed, stream), or read off the forward
        // input and output.
        if (!t.needs_grad(x)) return;
        const Tape::GradSlot dx = t.grad_slot(x);
        const ops::DropoutForward forward{x.value(), out};
        ops::dropout(t.context(), gy, p, seed, stream, dx.grad, dx.accumulate, &forward);
      });
}

namespace {
Var softmax_impl(Var x, bool log) {
  Tape& tape = x.tape();
  Tensor y = log ? ops::log_softmax_rows(tape.context(), x.value())
                 : ops::softmax_rows(tape.context(), x.value());  // [N, C]
  return tape.record(log ? "log_softmax_rows" : "softmax_rows", y, {x},
                     [x, y, log](Tape& t, const Tensor& gy) {
                       if (!t.needs_grad(x)) return;
                       const Tape::GradSlot dx = t.grad_slot(x);
                       ops::softmax_rows_backward(t.context(), y, gy, dx.grad, log, dx.accumulate);
                     });
}
}  // namespace

Var softmax_rows(Var x) {
  return softmax_impl(x, false);
}
Var log_softmax_rows(Var x) {
  return softmax_impl(x, true);
}

Var exp(Var x) {
  Tape& tape = x.tape();
  Tensor y = ops::exp(tape.context(), x.value());  // [N, F]
  return tape.record("exp", y, {x}, [x, y](Tape& t, const Tensor& gy) {
    if (t.needs_grad(x))
      accumulate_binary(t.context(), ops::BinaryOp::kMul, gy, y, gy, t.grad_slot(x), 1);
  });
}

Var log(Var x) {
  Tape& tape = x.tape();
  Tensor y = ops::log(tape.context(), x.value());  // [N, F]
  return tape.record("log", std::move(y), {x}, [x](Tape& t, const Tensor& gy) {
    if (t.needs_grad(x)) {
      accumulate_binary(t.context(), ops::BinaryOp::kDiv, gy, x.value(), gy, t.grad_slot(x), 1);
    }
  });
}

Var scale(Var x, double alpha) {
  Tape& tape = x.tape();
  Tensor y = ops::scale(tape.context(), x.value(), alpha);  // [N, F]
  return tape.record("scale", std::move(y), {x}, [x, alpha](Tape& t, const Tensor& gy) {
    if (t.needs_grad(x)) accumulate_reduced(t.context(), gy, t.grad_slot(x), alpha);
  });
}

Var add(Var a, Var b) {
  Tape& tape = a.tape();
  Tensor y = ops::add(tape.context(), a.value(), b.value());  // [N, F], the broadcast shape
  return tape.record("add", std::move(y), {a, b}, [a, b](Tape& t, const Tensor& gy) {
    if (t.needs_grad(a)) accumulate_reduced(t.context(), gy, t.grad_slot(a));
    if (t.needs_grad(b)) accumulate_reduced(t.context(), gy, t.grad_slot(b));
  });
}

Var mul(Var a, Var b) {
  Tape& tape = a.tape();
  Tensor y = ops::mul(tape.context(), a.value(), b.value());  // [N, F], the broadcast shape
  return tape.record("mul", std::move(y), {a, b}, [a, b](Tape& t, const Tensor& gy) {
    const Context& c = t.context();
    // da += gy * b ; db += gy * a (each summed over its broadcast dimensions)
    if (t.needs_grad(a))
      accumulate_binary(c, ops::BinaryOp::kMul, gy, b.value(), gy, t.grad_slot(a), 1);
    if (t.needs_grad(b))
      accumulate_binary(c, ops::BinaryOp::kMul, gy, a.value(), gy, t.grad_slot(b), 1);
  });
}

Var div(Var a, Var b) {
  Tape& tape = a.tape();
  Tensor y = ops::div(tape.context(), a.value(), b.value());  // [N, F], the broadcast shape
  return tape.record("div", y, {a, b}, [a, b, y](Tape& t, const Tensor& gy) {
    const Context& c = t.context();
    // da += gy / b ; db -= gy * a / b² = (gy * y) / b
    if (t.needs_grad(a))
      accumulate_binary(c, ops::BinaryOp::kDiv, gy, b.value(), gy, t.grad_slot(a), 1);
    if (t.needs_grad(b)) {
      const Tensor gy_y = ops::mul(c, gy, y);  // [N, F]
      accumulate_binary(c, ops::BinaryOp::kDiv, gy_y, b.value(), gy, t.grad_slot(b), -1);
    }
  });
}

Var reshape(Var x, int64_t rows, int64_t cols) {
  Tape& tape = x.tape();
  const Tensor& v = x.value();  // [N, F]
  GKD_CHECK(rows >= 0 && cols >= 0 && rows * cols == v.numel(), "[reshape] x is [", v.rows(), ", ",
            v.cols(), "] (", v.numel(), " elements), which cannot be viewed as [", rows, ", ", cols,
            "]");
  Tensor y = (v.is_contiguous() ? v : v.clone()).reshape(rows, cols);  // [rows, cols]
  return tape.record("reshape", std::move(y), {x}, [x](Tape& t, const Tensor& gy) {
    if (!t.needs_grad(x)) return;
    const Tensor g = gy.is_contiguous() ? gy : gy.clone();  // [rows, cols]
    accumulate_reduced(t.context(), g.reshape(x.rows(), x.cols()), t.grad_slot(x));
  });
}

namespace {
// Σ over `axis` times alpha; the backward broadcasts gy back over the summed dimensions.
Var reduce_impl(const char* name, Var x, ops::SumAxis axis, double alpha) {
  Tape& tape = x.tape();
  const Tensor& v = x.value();  // [N, F]
  Tensor y =
      Tensor::empty(axis == ops::SumAxis::kRows ? v.rows() : 1,
                    axis == ops::SumAxis::kCols ? v.cols() : 1, v.dtype(), tape.context().device());
  ops::reduce_sum(tape.context(), v, axis, y, alpha);
  return tape.record(name, std::move(y), {x}, [x, alpha](Tape& t, const Tensor& gy) {
    if (!t.needs_grad(x)) return;
    const Tape::GradSlot dx = t.grad_slot(x);
    ops::unary(t.context(), ops::UnaryOp::kScale, gy, dx.grad, alpha, dx.accumulate);
  });
}
}  // namespace

Var sum(Var x) {
  return reduce_impl("sum", x, ops::SumAxis::kAll, 1.0);
}
Var mean(Var x) {
  GKD_CHECK(x.value().numel() > 0, "[mean] x is ", x.value().describe(),
            " (the mean of no elements is undefined)");
  return reduce_impl("mean", x, ops::SumAxis::kAll, 1.0 / static_cast<double>(x.value().numel()));
}

Var head_dot(Var z, Var a, int64_t heads) {
  Tape& tape = z.tape();
  Tensor s = ops::head_dot(tape.context(), z.value(), a.value(), heads);  // [N, H]
  return tape.record("head_dot", std::move(s), {z, a}, [z, a, heads](Tape& t, const Tensor& gs) {
    std::optional<Tape::GradSlot> dz, da;
    if (t.needs_grad(z)) dz.emplace(t.grad_slot(z));
    if (t.needs_grad(a)) da.emplace(t.grad_slot(a));
    if (!dz && !da) return;
    ops::head_dot_backward(t.context(), z.value(), a.value(), heads, gs, dz ? &dz->grad : nullptr,
                           dz && dz->accumulate, da ? &da->grad : nullptr, da && da->accumulate);
  });
}

Var row_sums(Var x) {
  return reduce_impl("row_sums", x, ops::SumAxis::kRows, 1.0);
}
Var col_sums(Var x) {
  return reduce_impl("col_sums", x, ops::SumAxis::kCols, 1.0);
}

}  // namespace gkd::autograd
