// Differentiable graph functions (message passing). Each records one tape node whose backward
// reuses the graph kernels on the transposed CSR (or a row-parallel edge pass), so gradients are
// deterministic. Edge values are [E, H] in canonical edge order (engine/graph.h).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "autograd/tape.h"
#include "engine/graph.h"
#include "engine/ops_graph.h"
#include "engine/ops_segment.h"

namespace gkd::autograd {

// y[v] = Σ_{u -> v} w[e, h] x[u] per head (ops::spmm). edge_w: [E, H] or an undefined Var for
// all-ones weights; mean divides by the in-degree (only without edge_w: scale the weights instead).
Var spmm(const Graph& g, Var x, Var edge_w = {}, bool mean = false);

// y = A · x for a constant sparse A [R, C] (bag-of-words features) and x: [C, F]; y: [R, F].
// With K matrices of one shape (students as a batch dimension, each with its own input dropout),
// x holds K column blocks and block k of y is A_k · (block k of x).
// Backward: dx += Aᵀ · dy through the stored transpose (no atomics).
Var sparse_matmul(std::span<const SparseMatrix> a, Var x);
inline Var sparse_matmul(const SparseMatrix& a, Var x) {
  return sparse_matmul(std::span<const SparseMatrix>(&a, 1), x);
}

// out[e, h] = op(u[src e], v[dst e]) over each head's slice of H*F columns (ops::sddmm): dot, L1,
// squared L2 or cosine. u, v: [N, H*F] and may be the same Var; out: [E, H].
Var sddmm(const Graph& g, kernels::SddmmOp op, Var u, Var v, int64_t heads = 1);

// out[e, h] = φ(a_src[src e, h] + a_dst[dst e, h]), φ = identity or LeakyReLU(negative_slope):
// the GAT attention logits. a_src, a_dst: [N, H]; out: [E, H].
Var sddmm_u_add_v(const Graph& g, Var a_src, Var a_dst, bool leaky_relu = false,
                  double negative_slope = 0.2);

// r[v, h] = Σ_{e into v} w[e, h] (per source over out-edges when transposed). w: [E, H]; r: [N, H].
Var edge_reduce(const Graph& g, Var w, bool transpose = false);

// y = map(x) elementwise on edge values (ops::EdgeMap: exp(-scale x) or (x + shift)^degree).
Var edge_map(Var x, const ops::EdgeMap& map);

// p[e, h] = softmax of z over the in-edges of dst(e), per head. z, p: [E, H].
Var edge_softmax(const Graph& g, Var z);
// log p[e, h], the same distribution as logs (no underflow; what edge_kl takes).
Var edge_log_softmax(const Graph& g, Var z);

// kl[v, h] = Σ_{e into v} p[e, h] (log p[e, h] - log q[e, h]) = KL(p_v || q_v) from the
// log-probabilities lp = log p, lq = log q ([E, H], edge_log_softmax outputs); kl: [N, H], 0 for
// nodes without in-edges.
Var edge_kl(const Graph& g, Var lp, Var lq);

// Graph readout: y[b, :] = sum | mean | max of x over the rows [off[b], off[b+1]) of segment b.
// offsets: i64 [B + 1, 1] from 0 to x.rows (Graph::node_offsets_tensor() of a batch); x: [N, F];
// y: [B, F]; empty segments give 0. The max routes its gradient to the first row reaching it.
Var segment_reduce(const Tensor& offsets, Var x, kernels::SegmentOp op);
inline Var segment_sum(const Tensor& offsets, Var x) {
  return segment_reduce(offsets, x, kernels::SegmentOp::kSum);
}
inline Var segment_mean(const Tensor& offsets, Var x) {
  return segment_reduce(offsets, x, kernels::SegmentOp::kMean);
}
inline Var segment_max(const Tensor& offsets, Var x) {
  return segment_reduce(offsets, x, kernels::SegmentOp::kMax);
}
inline Var segment_sum(const Graph& batch, Var x) {
  return segment_sum(batch.node_offsets_tensor(), x);
}
inline Var segment_mean(const Graph& batch, Var x) {
  return segment_mean(batch.node_offsets_tensor(), x);
}
inline Var segment_max(const Graph& batch, Var x) {
  return segment_max(batch.node_offsets_tensor(), x);
}

// y[i, :] = x[index[i], :] (backward: scatter-add). index: i32 or i64 [M, 1]; y: [M, F].
Var gather_rows(Var x, const Tensor& index);
// y[index[i], :] += x[i, :] into `rows` zero rows (backward: gather). x: [M, F]; y: [rows, F].
Var scatter_add_rows(Var x, const Tensor& index, int64_t rows);

// ---- LSP structure KL (reference/methods.md §1.3)

// The similarity kernel a_e = K(h_u, h_v) of an edge e = (u -> v) whose edge softmax is a node's
// "local structure". For D-dimensional features:
//   kL1Exp (official LSP/MSKD/Alignahead code): a = exp(-||h_u - h_v||_1 / tau), tau = 100
//   kLinear (LSP paper):                         a = <h_u, h_v>
//   kPolynomial (LSP paper):                     a = (<h_u, h_v> + shift)^degree
//   kRbf (LSP paper):                            a = exp(-||h_u - h_v||_2^2 / (2 sigma^2))
//   kCosine:                                     a = <h_u, h_v> / (max(|h_u|, eps) max(|h_v|, eps))
// The kernel value itself is the softmax logit (as in the official code: softmax over a in (0, 1]
// for kL1Exp), not a log-kernel and not the paper's kernel-induced distance.
enum class StructureKernelKind { kL1Exp, kLinear, kPolynomial, kRbf, kCosine };

struct StructureKernel {
  StructureKernelKind kind = StructureKernelKind::kL1Exp;
  double tau = 100.0;   // kL1Exp, > 0
  double shift = 1.0;   // kPolynomial: c
  double degree = 2.0;  // kPolynomial: d (a non-integer d needs <h_u, h_v> + c >= 0)
  double sigma = 1.0;   // kRbf, > 0
};

// a: [E, 1] kernel values of h: [N, D].
Var structure_kernel(const Graph& g, Var h, const StructureKernel& kernel = {});
// P: [E, 1], the edge softmax over each node's in-edges of the kernel values.
Var local_structure(const Graph& g, Var h, const StructureKernel& kernel = {});

// L = (1/N) Σ_v Σ_{e into v} P^t_e (log P^t_e - log P^s_e) = mean over ALL N nodes of
// KL(P^teacher_v || P^student_v); nodes without in-edges add 0 but count. h_student: [N, D_s],
// h_teacher: [N, D_t] (D may differ); L: [1, 1]. The teacher gets a gradient only if it requires
// one (official LSP: a constant or NoGrad teacher; mutual / online variants: both sides).
// Computed by the fused kernel (kernels/structure.h): no E×F tensor, no per-step edge tensors
// beyond two per-edge coefficients.
Var structure_kl(const Graph& g, Var h_student, Var h_teacher, const StructureKernel& kernel = {});
// Q pairs (student, reference) in one fused call: [Q, 1], entry q the loss above for pair q, or
// with node_weights [Q, N] (a constant) (1/N) Σ_v w[q, v] KL_v for pair q.
Var structure_kl(const Graph& g, const std::vector<std::pair<Var, Var>>& pairs,
                 const StructureKernel& kernel = {}, const Tensor& node_weights = {});

}  // namespace gkd::autograd
