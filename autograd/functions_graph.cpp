#include "autograd/functions_graph.h"

#include "engine/error.h"
#include "engine/ops_graph.h"

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
      ops::spmm(c, g, gy, wt, t.grad_of(x), {.transpose = true, .accumulate = true});
    }
    if (edge_w.defined() && t.needs_grad(edge_w)) {
      // dw[e, h] += <x[src e, h-slice], gy[dst e, h-slice]>
      ops::sddmm(c, g, kernels::SddmmOp::kDot, x.value(), gy, t.grad_of(edge_w), true);
    }
  };
  if (edge_w.defined()) return tape.record("spmm", std::move(y), {x, edge_w}, backward);
  return tape.record("spmm", std::move(y), {x}, backward);
}

}  // namespace gkd::autograd
