// Tensor-level graph ops (message passing): validate once, then run a kernel twin. Edge tensors are
// [E, H] in the graph's canonical edge order (see engine/graph.h).
#pragma once

#include "engine/context.h"
#include "engine/graph.h"
#include "engine/tensor.h"
#include "kernels/sddmm.h"

namespace gkd::ops {

struct SpmmOptions {
  bool transpose = false;   // aggregate over out-edges (y = Aᵀ x) instead of in-edges
  bool mean = false;        // divide each row's sum by its number of entries
  bool accumulate = false;  // y += ... instead of y = ...
};

// y[v, h-th slice] (+)= Σ_{u -> v} w[e, h] x[u, h-th slice]. x: [N, H*F]; edge_w: [E, H] or
// undefined (all ones, H = 1); y: [N, H*F]. See kernels/spmm.h.
void spmm(const Context& ctx, const Graph& g, const Tensor& x, const Tensor& edge_w, Tensor& y,
          const SpmmOptions& options = {});
Tensor spmm(const Context& ctx, const Graph& g, const Tensor& x, const Tensor& edge_w = {},
            bool mean = false);

// out[e, h] (+)= op(u[src e, h-th slice], v[dst e, h-th slice]) for op = dot, L1 or squared L2
// (kernels/sddmm.h). u, v: [N, H*F]; out: [E, H] with H = out.cols.
void sddmm(const Context& ctx, const Graph& g, kernels::SddmmOp op, const Tensor& u,
           const Tensor& v, Tensor& out, bool accumulate = false);

}  // namespace gkd::ops
