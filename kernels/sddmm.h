// SDDMM-shaped edge kernels: one value per (edge, head) from the features of the edge's endpoints,
// and the kernels that carry gradients from edges back to nodes without atomics.
//
// For edge e = (src -> dst) at in-CSR position e (canonical order), head h, F = u.cols / heads,
// x = u[src, hF : hF+F], y = v[dst, hF : hF+F]:
//   kDot:       out[e, h] (+)= <x, y>
//   kL1:        out[e, h] (+)= Σ_j |x_j - y_j|
//   kSquaredL2: out[e, h] (+)= Σ_j (x_j - y_j)^2
//   kCosine:    out[e, h] (+)= <x, y> / (max(|x|, eps) * max(|y|, eps)),  eps = kCosineEps
// Bytes: 2*E*F*4 gathered + E*H*4 written; FLOPs: 2*E*F (3x for kCosine, which also needs norms).
//
// sddmm_backward: d/du and d/dv of Σ_e Σ_h g[e, h] out[e, h]. d/du walks the out-CSR (row = source,
// Σ over its out-edges), d/dv the in-CSR (row = destination, Σ over its in-edges), so every output
// row has one writer. Every op is symmetric in its operands, so with x the differentiated one and
// y the other, one term's partial derivative is:
//   dot: y;  L1: sign(x - y) (0 at 0);  squared L2: 2(x - y);
//   cosine: y / (|x|'|y|') - c x / |x|'^2 with |.|' = max(|.|, eps), c the cosine (the second
//           term only when |x| > eps: a clamped norm is constant)
// Bytes: as the forward plus N*F*4 written per side; FLOPs: 2*E*F per side.
//
// u_add_v: out[e, h] (+)= φ(a_src[src, h] + a_dst[dst, h]) with φ = identity or LeakyReLU (GAT
// attention logits). Bytes: E*H*(4 + 8 + 4); FLOPs: E*H.
//
// edge_reduce: r[row, h] (+)= Σ_{p in row} w[eid(p), h] * γ[eid(p), h], the node-side gradient of
// u_add_v (in-CSR: d a_dst; out-CSR: d a_src) and a segment sum by destination. γ = 1, or the
// LeakyReLU derivative read off the forward output (y > 0 ? 1 : slope; valid for slope >= 0).
// Bytes: E*H*4 (8 gated) + E*4 + N*H*4; FLOPs: E*H.
//
// edge_map / edge_map_backward: elementwise maps that turn SDDMM values into similarity kernels
// (structure KL): kExpNeg y = exp(-scale * x), kPower y = (x + shift)^degree; backward
// dx (+)= dy * φ'(x). Bytes: 8 (12 backward) per element; FLOPs: O(1) per element.
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

enum class SddmmOp { kDot, kL1, kSquaredL2, kCosine };

// Norms below this are clamped in kCosine (the torch.nn.functional.cosine_similarity convention).
inline constexpr double kCosineEps = 1e-8;

template <class T>
struct SddmmArgs {
  CsrView a;  // in-CSR: row = dst, column = src; output in canonical (position) order
  SddmmOp op;
  int64_t heads;      // H >= 1; u.cols == v.cols == H*F
  ConstMatView<T> u;  // [a.cols, H*F] source-side features
  ConstMatView<T> v;  // [a.rows, H*F] destination-side features
  MatView<T> out;     // [a.nnz, H]; overwritten or accumulated
  bool accumulate;
  // CUDA only: the variant to run, by name (kernels/variants.h); null: the one chosen by shape.
  // The CPU twin ignores it.
  const char* variant = nullptr;
};

// Which operand sddmm_backward differentiates.
enum class SddmmSide { kU, kV };

template <class T>
struct SddmmBackwardArgs {
  CsrView a;  // kU: the out-CSR (row = source, edge_ids set); kV: the in-CSR
  SddmmOp op;
  SddmmSide wrt;         // kU: d/du, one row per source; kV: d/dv, one row per destination
  int64_t heads;         // H >= 1; u.cols == v.cols == d.cols == H*F
  ConstMatView<T> u;     // [N, H*F] the forward's source-side features
  ConstMatView<T> v;     // [N, H*F] the forward's destination-side features
  ConstMatView<T> grad;  // [E, H] gradient of out, canonical edge order
  MatView<T> d;          // [a.rows, H*F]; overwritten (rows without edges get 0) or accumulated
  bool accumulate;
};

template <class T>
struct UAddVArgs {
  CsrView a;              // in-CSR: row = dst, column = src
  ConstMatView<T> a_src;  // [a.cols, H] per-source scores (GAT el)
  ConstMatView<T> a_dst;  // [a.rows, H] per-destination scores (GAT er)
  bool leaky_relu;        // apply LeakyReLU(negative_slope) to the sum
  T negative_slope;       // >= 0; used when leaky_relu
  MatView<T> out;         // [a.nnz, H] canonical order; overwritten or accumulated
  bool accumulate;
};

template <class T>
struct EdgeReduceArgs {
  CsrView a;             // in-CSR (per destination) or out-CSR with edge_ids (per source)
  ConstMatView<T> w;     // [E, H] edge values in canonical order
  ConstMatView<T> gate;  // [E, H] forward output of a leaky u_add_v, or data = null for γ = 1
  T negative_slope;      // the forward's slope, used when gate is set
  MatView<T> out;        // [a.rows, H]; overwritten (empty rows get 0) or accumulated
  bool accumulate;
};

enum class EdgeMapOp { kExpNeg, kPower };

template <class T>
struct EdgeMapArgs {
  EdgeMapOp op;
  T scale;            // kExpNeg: y = exp(-scale * x)
  T shift;            // kPower: y = (x + shift)^degree
  T degree;           // kPower; a non-integer degree needs x + shift >= 0
  ConstMatView<T> x;  // [E, H]
  MatView<T> y;       // [E, H]; overwritten or accumulated (may alias x when overwriting)
  bool accumulate;
};

template <class T>
struct EdgeMapBackwardArgs {
  EdgeMapOp op;
  T scale, shift, degree;  // as in the forward
  ConstMatView<T> x;       // [E, H] the forward's input
  ConstMatView<T> dy;      // [E, H] gradient of y
  MatView<T> dx;           // [E, H]; overwritten or accumulated
  bool accumulate;
};

}  // namespace gkd::kernels
