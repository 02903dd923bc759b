// SpMM over CSR rows, per head: the message-passing aggregation of every GNN layer.
//
//   y[v, h*F + j]  (+)=  s_v * Σ_{p in row v}  w[eid(p), h] * x[col(p), h*F + j]
//
// with F = x.cols / heads, w = 1 when edge_w is null, s_v = 1/len(row v) when `mean` (0 for empty
// rows) and 1 otherwise. Over a graph's in-CSR this aggregates in-neighbours; over its out-CSR
// (edge_ids set) it applies Aᵀ, which is how the backward pass runs without atomics.
// Bytes: E*(4 + 4*H) index/weight + E*F*4 gathered + N*F*4 written; FLOPs: 2*E*H*F.
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

template <class T>
struct SpmmArgs {
  CsrView a;          // rows = outputs, cols = inputs; a.edge_ids maps positions to edge ids
  const T* edge_w;    // [E, heads] in canonical edge order (row stride = heads), or null = ones
  int64_t heads;      // H >= 1; x.cols and y.cols are multiples of H
  bool mean;          // scale row v by 1/len(row v)
  ConstMatView<T> x;  // [a.cols, H*F]
  MatView<T> y;       // [a.rows, H*F]; overwritten (rows with no entries get 0) or accumulated
  bool accumulate;    // false: y = A·x ; true: y += A·x
  // CUDA only: the variant to run, by name (kernels/variants.h); null: the one chosen by
  // shape. The CPU twin ignores it.
  const char* variant = nullptr;
};

}  // namespace gkd::kernels
