#include "autograd/functions_graph.h"

#include <memory>

#include <vector>

#include "engine/error.h"
#include "engine/ops_dense.h"
#include "engine/ops_graph.h"
#include "engine/ops_structure.h"

namespace gkd::autograd {

Var spmm(const Graph& g, Var x, Var edge_w, bool mean) {
  Tape& tape = x.tape();
  const Context& ctx = tape.context();
  GKD_CHECK(!(mean && edge_w.defined()),
            "[spmm] mean aggregation with edge weights is ambiguous: fold 1/in_degree into the "
            "weights instead");
  const Tensor w = edge_w.defined() ? edge_w.value() : Tensor();
  Tensor y = ops::spmm(ctx, g, x.value(), w, mean);  // [N, H*F]
  auto backward = [g, x, edge_w, mean](Tape& t, const Tensor& gy) {
    const Context& c = t.context();
    if (t.needs_grad(x)) {
      // dx[u] += Σ_{u -> v} w[e] gy[v]: the same SpMM over the transposed CSR. For the mean, the
      // 1/in_deg(v) factor belongs to the destination, so it travels as a per-edge weight.
      const Tensor wt = mean ? g.norm(EdgeNorm::kMean, gy.dtype())
                             : (edge_w.defined() ? edge_w.value() : Tensor());
      const Tape::GradSlot dx = t.grad_slot(x);
      ops::spmm(c, g, gy, wt, dx.grad, {.transpose = true, .accumulate = dx.accumulate});
    }
    if (edge_w.defined() && t.needs_grad(edge_w)) {
      // dw[e, h] += <x[src e, h-slice], gy[dst e, h-slice]>
      const Tape::GradSlot dw = t.grad_slot(edge_w);
      ops::sddmm(c, g, kernels::SddmmOp::kDot, x.value(), gy, dw.grad, dw.accumulate);
    }
  };
  if (edge_w.defined()) return tape.record("spmm", std::move(y), {x, edge_w}, backward);
  return tape.record("spmm", std::move(y), {x}, backward);
}

Var sparse_matmul(std::span<const SparseMatrix> a, Var x) {
  Tape& tape = x.tape();
  const auto k = static_cast<int64_t>(a.size());
  GKD_CHECK(k >= 1 && x.value().cols() % k == 0, "[sparse_matmul] x has ", x.value().cols(),
            " columns, not a multiple of the ", k, " matrices");
  for (const SparseMatrix& m : a) {
    GKD_CHECK(m.rows() == a[0].rows() && m.cols() == a[0].cols(), "[sparse_matmul] matrix is [",
              m.rows(), ", ", m.cols(), "] (expected one shape, [", a[0].rows(), ", ", a[0].cols(),
              "])");
  }
  const int64_t f = x.value().cols() / k;
  const auto block = [f](const Tensor& t, int64_t s) { return t.slice_cols(s * f, (s + 1) * f); };
  Tensor y = Tensor::empty(a[0].rows(), x.value().cols(), x.value().dtype(), x.value().device());
  for (int64_t s = 0; s < k; ++s) {
    Tensor ys = block(y, s);
    ops::sparse_matmul(tape.context(), a[s], block(x.value(), s), ys);
  }
  std::vector<SparseMatrix> matrices(a.begin(), a.end());
  return tape.record("sparse_matmul", std::move(y), {x},
                     [matrices, x, block](Tape& t, const Tensor& gy) {
                       const Tape::GradSlot dx = t.grad_slot(x);
                       for (size_t s = 0; s < matrices.size(); ++s) {
                         const auto i = static_cast<int64_t>(s);
                         Tensor dxs = block(dx.grad, i);
                         ops::sparse_matmul(t.context(), matrices[s], block(gy, i), dxs,
                                            {.transpose = true, .accumulate = dx.accumulate});
                       }
                     });
}

Var sddmm(const Graph& g, kernels::SddmmOp op, Var u, Var v, int64_t heads) {
  Tape& tape = u.tape();
  GKD_CHECK(heads >= 1, "[sddmm] heads is ", heads, " (expected >= 1)");
  Tensor out = ops::sddmm(tape.context(), g, op, u.value(), v.value(), heads);  // [E, H]
  auto backward = [g, op, u, v](Tape& t, const Tensor& gout) {
    // u and v may be one Var: the second pass then adds to the first's gradient.
    if (t.needs_grad(u)) {
      const Tape::GradSlot du = t.grad_slot(u);
      ops::sddmm_backward(t.context(), g, op, kernels::SddmmSide::kU, u.value(), v.value(), gout,
                          du.grad, du.accumulate);
    }
    if (t.needs_grad(v)) {
      const Tape::GradSlot dv = t.grad_slot(v);
      ops::sddmm_backward(t.context(), g, op, kernels::SddmmSide::kV, u.value(), v.value(), gout,
                          dv.grad, dv.accumulate);
    }
  };
  return tape.record("sddmm", std::move(out), {u, v}, backward);
}

Var sddmm_u_add_v(const Graph& g, Var a_src, Var a_dst, bool leaky_relu, double negative_slope) {
  Tape& tape = a_src.tape();
  const ops::UAddVOptions options{.leaky_relu = leaky_relu, .negative_slope = negative_slope};
  Tensor out = ops::u_add_v(tape.context(), g, a_src.value(), a_dst.value(), options);  // [E, H]
  const Tensor y = out;  // the LeakyReLU derivative is read off the output's sign
  auto backward = [g, a_src, a_dst, y, options](Tape& t, const Tensor& gout) {
    const auto reduce = [&](Var side, bool transpose) {
      const Tape::GradSlot d = t.grad_slot(side);
      ops::edge_reduce(t.context(), g, gout, d.grad,
                       {.transpose = transpose,
                        .leaky_gate = options.leaky_relu ? &y : nullptr,
                        .negative_slope = options.negative_slope,
                        .accumulate = d.accumulate});
    };
    if (t.needs_grad(a_dst)) reduce(a_dst, false);
    if (t.needs_grad(a_src)) reduce(a_src, true);
  };
  return tape.record("sddmm_u_add_v", std::move(out), {a_src, a_dst}, backward);
}

Var edge_reduce(const Graph& g, Var w, bool transpose) {
  Tape& tape = w.tape();
  Tensor r = ops::edge_reduce(tape.context(), g, w.value(), transpose);  // [N, H]
  auto backward = [g, w, transpose](Tape& t, const Tensor& gr) {
    if (!t.needs_grad(w)) return;
    // dw[e] += gr[dst e] (gr[src e] when transposed): u_add_v with a zero operand.
    const Tensor zero = Tensor::zeros(gr.rows(), gr.cols(), gr.dtype(), gr.device());  // [N, H]
    const Tape::GradSlot dw = t.grad_slot(w);
    ops::u_add_v(t.context(), g, transpose ? gr : zero, transpose ? zero : gr, dw.grad,
                 {.accumulate = dw.accumulate});
  };
  return tape.record("edge_reduce", std::move(r), {w}, backward);
}

Var edge_map(Var x, const ops::EdgeMap& map) {
  Tape& tape = x.tape();
  const Tensor& xv = x.value();
  Tensor y = Tensor::empty(xv.rows(), xv.cols(), xv.dtype(), xv.device());  // [E, H]
  ops::edge_map(tape.context(), map, xv, y);
  auto backward = [x, map](Tape& t, const Tensor& gy) {
    if (!t.needs_grad(x)) return;
    const Tape::GradSlot dx = t.grad_slot(x);
    ops::edge_map_backward(t.context(), map, x.value(), gy, dx.grad, dx.accumulate);
  };
  return tape.record("edge_map", std::move(y), {x}, backward);
}

namespace {

Var edge_softmax_impl(const Graph& g, Var z, bool log) {
  Tape& tape = z.tape();
  Tensor y = ops::edge_softmax(tape.context(), g, z.value(), log);  // [E, H] p or log p
  auto backward = [g, z, y, log](Tape& t, const Tensor& gy) {
    if (!t.needs_grad(z)) return;
    const Tape::GradSlot dz = t.grad_slot(z);
    ops::edge_softmax_backward(t.context(), g, y, gy, dz.grad, log, dz.accumulate);
  };
  Tensor value = y;
  return tape.record(log ? "edge_log_softmax" : "edge_softmax", std::move(value), {z}, backward);
}

}  // namespace

Var edge_softmax(const Graph& g, Var z) {
  return edge_softmax_impl(g, z, false);
}
Var edge_log_softmax(const Graph& g, Var z) {
  return edge_softmax_impl(g, z, true);
}

Var edge_kl(const Graph& g, Var lp, Var lq) {
  Tape& tape = lp.tape();
  Tensor kl = ops::edge_kl(tape.context(), g, lp.value(), lq.value());  // [N, H]
  auto backward = [g, lp, lq](Tape& t, const Tensor& gkl) {
    const bool same = lp.id() == lq.id();  // KL(p || p): both partials land in one gradient
    Tensor* dlp = t.needs_grad(lp) ? &t.grad_of(lp) : nullptr;
    Tensor* dlq = t.needs_grad(lq) && !same ? &t.grad_of(lq) : nullptr;
    ops::edge_kl_backward(t.context(), g, lp.value(), lq.value(), gkl, dlp, dlq, true);
    if (same && dlp) {
      ops::edge_kl_backward(t.context(), g, lp.value(), lq.value(), gkl, nullptr, dlp, true);
    }
  };
  return tape.record("edge_kl", std::move(kl), {lp, lq}, backward);
}

Var segment_reduce(const Tensor& offsets, Var x, kernels::SegmentOp op) {
  Tape& tape = x.tape();
  Tensor argmax;  // [B, F] i64, kMax only
  Tensor y = ops::segment_reduce(tape.context(), op, offsets, x.value(),
                                 op == kernels::SegmentOp::kMax ? &argmax : nullptr);  // [B, F]
  auto backward = [offsets, x, op, argmax](Tape& t, const Tensor& gy) {
    if (t.needs_grad(x)) {
      ops::segment_reduce_backward(t.context(), op, offsets, gy, argmax, t.grad_of(x), true);
    }
  };
  return tape.record("segment_reduce", std::move(y), {x}, backward);
}

Var gather_rows(Var x, const Tensor& index) {
  Tape& tape = x.tape();
  Tensor y = ops::gather_rows(tape.context(), x.value(), index);  // [M, F]
  auto backward = [x, index](Tape& t, const Tensor& gy) {
    if (t.needs_grad(x)) ops::scatter_add_rows(t.context(), gy, index, t.grad_of(x), true);
  };
  return tape.record("gather_rows", std::move(y), {x}, backward);
}

Var scatter_add_rows(Var x, const Tensor& index, int64_t rows) {
  Tape& tape = x.tape();
  Tensor y = ops::scatter_add_rows(tape.context(), x.value(), index, rows);  // [rows, F]
  auto backward = [x, index](Tape& t, const Tensor& gy) {
    if (!t.needs_grad(x)) return;
    const Tape::GradSlot dx = t.grad_slot(x);
    ops::gather_rows(t.context(), gy, index, dx.grad, dx.accumulate);
  };
  return tape.record("scatter_add_rows", std::move(y), {x}, backward);
}

Var structure_kernel(const Graph& g, Var h, const StructureKernel& k) {
  using kernels::EdgeMapOp;
  using kernels::SddmmOp;
  switch (k.kind) {
    case StructureKernelKind::kL1Exp:
      GKD_CHECK(k.tau > 0, "[structure_kernel] tau is ", k.tau, " (expected > 0)");
      return edge_map(sddmm(g, SddmmOp::kL1, h, h),
                      {.op = EdgeMapOp::kExpNeg, .scale = 1.0 / k.tau});
    case StructureKernelKind::kLinear:
      return sddmm(g, SddmmOp::kDot, h, h);
    case StructureKernelKind::kPolynomial:
      return edge_map(sddmm(g, SddmmOp::kDot, h, h),
                      {.op = EdgeMapOp::kPower, .shift = k.shift, .degree = k.degree});
    case StructureKernelKind::kRbf:
      GKD_CHECK(k.sigma > 0, "[structure_kernel] sigma is ", k.sigma, " (expected > 0)");
      return edge_map(sddmm(g, SddmmOp::kSquaredL2, h, h),
                      {.op = EdgeMapOp::kExpNeg, .scale = 1.0 / (2.0 * k.sigma * k.sigma)});
    case StructureKernelKind::kCosine:
      return sddmm(g, SddmmOp::kCosine, h, h);
  }
  GKD_FAIL("[structure_kernel] unknown kernel kind ", static_cast<int>(k.kind));
}

Var local_structure(const Graph& g, Var h, const StructureKernel& kernel) {
  return edge_softmax(g, structure_kernel(g, h, kernel));
}

namespace {

kernels::StructureKernelOp structure_op(StructureKernelKind kind) {
  switch (kind) {
    case StructureKernelKind::kLinear:
      return kernels::StructureKernelOp::kLinear;
    case StructureKernelKind::kPolynomial:
      return kernels::StructureKernelOp::kPolynomial;
    case StructureKernelKind::kRbf:
      return kernels::StructureKernelOp::kRbf;
    case StructureKernelKind::kCosine:
      return kernels::StructureKernelOp::kCosine;
    case StructureKernelKind::kL1Exp:
      break;
  }
  return kernels::StructureKernelOp::kL1Exp;
}

}  // namespace

Var structure_kl(const Graph& g, const std::vector<std::pair<Var, Var>>& pairs,
                 const StructureKernel& kernel, const Tensor& node_weights) {
  GKD_CHECK(!pairs.empty(), "[structure_kl] no feature pairs given");
  Tape& tape = pairs.front().first.tape();
  const Context& ctx = tape.context();
  const kernels::StructureKernelParams params{.op = structure_op(kernel.kind),
                                              .tau = kernel.tau,
                                              .shift = kernel.shift,
                                              .degree = kernel.degree,
                                              .sigma = kernel.sigma};
  ops::StructurePairs values;
  std::vector<Var> inputs;
  for (const auto& [s, t] : pairs) {
    values.emplace_back(s.value(), t.value());
    inputs.push_back(s);
    inputs.push_back(t);
  }
  auto fwd = std::make_shared<ops::StructureKlOutput>(ops::structure_kl(ctx, g, values, params));
  const auto n = static_cast<double>(g.num_nodes());
  if (node_weights.defined()) {
    GKD_CHECK(node_weights.rows() == fwd->kl.rows() && node_weights.cols() == fwd->kl.cols(),
              "[structure_kl] node_weights is [", node_weights.rows(), ", ", node_weights.cols(),
              "] (expected [", fwd->kl.rows(), ", ", fwd->kl.cols(), "], pairs x nodes)");
  }
  const Tensor weighted = node_weights.defined() ? ops::mul(ctx, fwd->kl, node_weights) : fwd->kl;
  Tensor loss = ops::row_sums(ctx, weighted);  // [Q, 1]
  ops::unary(ctx, ops::UnaryOp::kScale, loss, loss, n > 0 ? 1.0 / n : 0.0);
  return tape.record("structure_kl", std::move(loss), inputs,
                     [g, pairs, params, values, fwd, n, node_weights](Tape& t, const Tensor& grad) {
                       const Context& c = t.context();
                       // dL_q/dkl[q, v] = grad[q] / N for every v.
                       Tensor dkl =
                           Tensor::empty(fwd->kl.rows(), fwd->kl.cols(), grad.dtype(), c.device());
                       dkl.zero();
                       ops::binary(c, ops::BinaryOp::kAdd, dkl, grad, dkl, 1.0 / n);
                       if (node_weights.defined())
                         ops::binary(c, ops::BinaryOp::kMul, dkl, node_weights, dkl);
                       std::vector<Tensor*> dhs, dht;
                       for (const auto& [s, r] : pairs) {
                         dhs.push_back(t.needs_grad(s) ? &t.grad_of(s) : nullptr);
                         dht.push_back(t.needs_grad(r) ? &t.grad_of(r) : nullptr);
                       }
                       ops::structure_kl_backward(c, g, values, params, dkl, *fwd, dhs, dht);
                     });
}

Var structure_kl(const Graph& g, Var h_student, Var h_teacher, const StructureKernel& kernel) {
  GKD_CHECK(h_student.rows() == g.num_nodes() && h_teacher.rows() == g.num_nodes(),
            "[structure_kl] h_student has ", h_student.rows(), " rows and h_teacher ",
            h_teacher.rows(), " (expected the graph's ", g.num_nodes(), " nodes)");
  return structure_kl(g, {{h_student, h_teacher}}, kernel);
}

}  // namespace gkd::autograd
