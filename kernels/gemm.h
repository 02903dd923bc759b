// Dense matrix product on row-major strided views, optionally strided-batched:
//
//   C_k = alpha * op(A_k) * op(B_k) + beta * C_k,   k = 0 .. batch-1,   op(X) = X or Xᵀ
//
// with X_k the view X shifted by k * stride_x elements (cublas<t>gemmStridedBatched semantics;
// a stride of 0 shares one A or B across the batch). op(A_k) is [M, K], op(B_k) is [K, N], C_k is
// [M, N]. A CUDA twin maps row-major C = op(A) op(B) to column-major Cᵀ = op(B)ᵀ op(A)ᵀ.
// Bytes: batch * (M*K + K*N + (1 + [beta != 0]) * M*N) * sizeof(T); FLOPs: 2 * batch * M*N*K.
#pragma once

#include <cstdint>

#include "kernels/common.h"

struct cublasContext;  // cublasHandle_t, forward-declared so that this header stays CUDA-free

namespace gkd::kernels {

template <class T>
struct GemmArgs {
  ConstMatView<T> a;  // item 0 of A as stored: [M, K], or [K, M] when trans_a
  bool trans_a;
  ConstMatView<T> b;  // item 0 of B as stored: [K, N], or [N, K] when trans_b
  bool trans_b;
  MatView<T> c;  // item 0 of C: [M, N]; must not overlap A or B, nor C_j for j != k
  T alpha;
  T beta;            // 0: C is overwritten and never read (it may hold NaN); else scaled
  int64_t batch;     // >= 1; batch = 1 ignores the strides
  int64_t stride_a;  // elements between A_k and A_{k+1} (0 = shared)
  int64_t stride_b;  // elements between B_k and B_{k+1} (0 = shared)
  int64_t stride_c;  // elements between C_k and C_{k+1}
  // CUDA twin: the context's cuBLAS handle, bound to its stream (the CPU twin ignores it).
  cublasContext* blas = nullptr;
};

}  // namespace gkd::kernels
