// CUDA twin of the dense GEMM (kernels/gemm.h) through cuBLAS. Row-major C = op(A) op(B) is the
// column-major Cᵀ = op(B)ᵀ op(A)ᵀ, and a row-major matrix is its column-major transpose in the
// same memory, so cuBLAS gets B before A with the same transpose flags and the views' leading
// dimensions. The strided-batched call covers batch = 1 too (strides unused). With beta = 0 cuBLAS
// does not read C, which may then hold NaN.
#include <cublas_v2.h>

#include "kernels/cuda/launch.cuh"
#include "kernels/registry.h"

namespace gkd::kernels::cuda {

void gemm(const GemmArgs<float>& a, Stream) {  // the handle is already bound to the stream
  const int64_t m = a.c.rows, n = a.c.cols, k = a.trans_a ? a.a.rows : a.a.cols;
  if (m == 0 || n == 0) return;  // engine/ops_dense.cpp checked the handle and the int ranges
  const cublasOperation_t op_a = a.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = a.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasStatus_t status = cublasSgemmStridedBatched(
      a.blas, op_b, op_a, static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &a.alpha,
      a.b.data, static_cast<int>(a.b.ld), a.stride_b, a.a.data, static_cast<int>(a.a.ld),
      a.stride_a, &a.beta, a.c.data, static_cast<int>(a.c.ld), a.stride_c,
      static_cast<int>(a.batch));
  check_cublas("gemm", static_cast<int>(status));
}

}  // namespace gkd::kernels::cuda
