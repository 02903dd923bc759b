// Tensor-level graph ops (message passing): validate once, then run a kernel twin. Edge tensors are
// [E, H] in the graph's canonical edge order (see engine/graph.h). Overwrite-mode outputs may hold
// garbage on entry; accumulate-mode outputs are added to.
#pragma once

#include "engine/context.h"
#include "engine/graph.h"
#include "engine/sparse_matrix.h"
#include "engine/tensor.h"
#include "kernels/edge_softmax.h"
#include "kernels/sddmm.h"

namespace gkd::ops {

// ---- SpMM (kernels/spmm.h)

struct SpmmOptions {
  bool transpose = false;   // aggregate over out-edges (y = Aᵀ x) instead of in-edges
  bool mean = false;        // divide each row's sum by its number of entries
  bool accumulate = false;  // y += ... instead of y = ...
  // On CUDA, the variant to run by name (kernels/variants.h); null: the one chosen by shape.
  // "cusparse" keeps one plan keyed by the operands' addresses and shapes: a benchmark baseline,
  // not for graphs that replace freed ones of the same size.
  const char* variant = nullptr;
};

// y[v, h-th slice] (+)= Σ_{u -> v} w[e, h] x[u, h-th slice]. x: [N, H*F]; edge_w: [E, H] or
// undefined (all ones, H = 1); y: [N, H*F]. See kernels/spmm.h.
void spmm(const Context& ctx, const Graph& g, const Tensor& x, const Tensor& edge_w, Tensor& y,
          const SpmmOptions& options = {});
Tensor spmm(const Context& ctx, const Graph& g, const Tensor& x, const Tensor& edge_w = {},
            bool mean = false);

// y (+)= A·x (or Aᵀ·x when transposed) for a sparse A [R, C] (bag-of-words features times a
// weight matrix). x: [C, F] (or [R, F]); y: [R, F] (or [C, F]), either may be a column block of a
// wider tensor; one dtype throughout.
struct SparseMatmulOptions {
  bool transpose = false;
  bool accumulate = false;
};
void sparse_matmul(const Context& ctx, const SparseMatrix& a, const Tensor& x, Tensor& y,
                   const SparseMatmulOptions& options = {});
Tensor sparse_matmul(const Context& ctx, const SparseMatrix& a, const Tensor& x);

// ---- SDDMM and edge <-> node reductions (kernels/sddmm.h)

// out[e, h] (+)= op(u[src e, h-th slice], v[dst e, h-th slice]) for op = dot, L1, squared L2 or
// cosine. u, v: [N, H*F]; out: [E, H] with H = out.cols.
// `variant`: on CUDA, the one to run by name (kernels/variants.h); null: the one chosen by shape
// ("cusparse" keeps a plan keyed by operand addresses, as in SpmmOptions).
void sddmm(const Context& ctx, const Graph& g, kernels::SddmmOp op, const Tensor& u,
           const Tensor& v, Tensor& out, bool accumulate = false, const char* variant = nullptr);
Tensor sddmm(const Context& ctx, const Graph& g, kernels::SddmmOp op, const Tensor& u,
             const Tensor& v, int64_t heads = 1);
// d (+)= ∂<grad, sddmm(op, u, v)>/∂u (wrt = kU) or /∂v (wrt = kV). u, v, d: [N, H*F];
// grad: [E, H]. Deterministic: rows of the out-CSR (kU) or in-CSR (kV), no atomics.
void sddmm_backward(const Context& ctx, const Graph& g, kernels::SddmmOp op, kernels::SddmmSide wrt,
                    const Tensor& u, const Tensor& v, const Tensor& grad, Tensor& d,
                    bool accumulate = false);

struct UAddVOptions {
  bool leaky_relu = false;      // out = LeakyReLU(a_src + a_dst), the GAT logit
  double negative_slope = 0.2;  // >= 0 (the backward reads the derivative off the output sign)
  bool accumulate = false;
};
// out[e, h] (+)= φ(a_src[src e, h] + a_dst[dst e, h]). a_src, a_dst: [N, H]; out: [E, H].
void u_add_v(const Context& ctx, const Graph& g, const Tensor& a_src, const Tensor& a_dst,
             Tensor& out, const UAddVOptions& options = {});
Tensor u_add_v(const Context& ctx, const Graph& g, const Tensor& a_src, const Tensor& a_dst,
               const UAddVOptions& options = {});

struct EdgeReduceOptions {
  bool transpose = false;              // per source over out-edges instead of per destination
  const Tensor* leaky_gate = nullptr;  // [E, H] output of a leaky u_add_v: multiply w by its slope
  double negative_slope = 0.2;         // the slope of that u_add_v
  bool accumulate = false;
};
// out[v, h] (+)= Σ_{e into v} w[e, h] (or out of v when transposed). w: [E, H]; out: [N, H].
void edge_reduce(const Context& ctx, const Graph& g, const Tensor& w, Tensor& out,
                 const EdgeReduceOptions& options = {});
Tensor edge_reduce(const Context& ctx, const Graph& g, const Tensor& w, bool transpose = false);

// An elementwise map of edge values (similarity kernels from SDDMM values).
struct EdgeMap {
  kernels::EdgeMapOp op = kernels::EdgeMapOp::kExpNeg;
  double scale = 1.0;   // kExpNeg: y = exp(-scale * x)
  double shift = 0.0;   // kPower: y = (x + shift)^degree
  double degree = 1.0;  // kPower
};
// y (+)= map(x) and dx (+)= dy * map'(x); all tensors share one shape.
void edge_map(const Context& ctx, const EdgeMap& map, const Tensor& x, Tensor& y,
              bool accumulate = false);
void edge_map_backward(const Context& ctx, const EdgeMap& map, const Tensor& x, const Tensor& dy,
                       Tensor& dx, bool accumulate = false);

// ---- edge softmax and edge KL (kernels/edge_softmax.h)

// p[e, h] = softmax of z over the in-edges of dst(e), per head, or log p when `log` (use it for
// KL terms: f32 probabilities underflow once a row's logits span ~100). z, p: [E, H] (p may be z).
// `variant`: on CUDA, the one to run by name (kernels/variants.h); null: the one chosen by shape.
void edge_softmax(const Context& ctx, const Graph& g, const Tensor& z, Tensor& p, bool log = false,
                  const char* variant = nullptr);
Tensor edge_softmax(const Context& ctx, const Graph& g, const Tensor& z, bool log = false);
// From the forward output y (p, or log p when `log`): dz (+)= p (dy - Σ_{in-edges} p dy), or
// dy - p Σ_{in-edges} dy for the log form. y, dy, dz: [E, H].
void edge_softmax_backward(const Context& ctx, const Graph& g, const Tensor& y, const Tensor& dy,
                           Tensor& dz, bool log = false, bool accumulate = false);
// kl[v, h] (+)= Σ_{e into v} p[e, h] (log p[e, h] - log q[e, h]) = KL(p_v || q_v), from the
// log-probabilities lp = log p, lq = log q (edge_softmax with log). lp, lq: [E, H]; kl: [N, H].
void edge_kl(const Context& ctx, const Graph& g, const Tensor& lp, const Tensor& lq, Tensor& kl,
             bool accumulate = false);
Tensor edge_kl(const Context& ctx, const Graph& g, const Tensor& lp, const Tensor& lq);
// dlp (+)= dkl[dst] p (lp - lq + 1), dlq (+)= -dkl[dst] p; either may be null.
void edge_kl_backward(const Context& ctx, const Graph& g, const Tensor& lp, const Tensor& lq,
                      const Tensor& dkl, Tensor* dlp, Tensor* dlq, bool accumulate = false);

}  // namespace gkd::ops
