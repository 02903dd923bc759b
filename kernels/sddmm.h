// SDDMM-shaped edge kernels: one value per (edge, head) from the features of the edge's endpoints.
// For edge e = (src -> dst) at in-CSR position e (canonical order), head h, F = u.cols / heads:
//   kDot:       out[e, h] (+)= Σ_j u[src, hF + j] * v[dst, hF + j]
//   kL1:        out[e, h] (+)= Σ_j |u[src, hF + j] - v[dst, hF + j]|
//   kSquaredL2: out[e, h] (+)= Σ_j (u[src, hF + j] - v[dst, hF + j])^2
// Bytes: 2*E*F*4 gathered + E*H*4 written; FLOPs: 2*E*F.
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

enum class SddmmOp { kDot, kL1, kSquaredL2 };

template <class T>
struct SddmmArgs {
  CsrView a;          // in-CSR: row = dst, column = src; output in canonical (position) order
  SddmmOp op;
  int64_t heads;      // H >= 1; u.cols == v.cols == H*F
  ConstMatView<T> u;  // [a.cols, H*F] source-side features
  ConstMatView<T> v;  // [a.rows, H*F] destination-side features
  MatView<T> out;     // [a.nnz, H]; overwritten or accumulated
  bool accumulate;
};

}  // namespace gkd::kernels
