#include "kernels/cuda/cusparse_baselines.h"

#include <cuda_runtime.h>
#include <cusparse.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "engine/error.h"
#include "kernels/cuda/launch.cuh"

namespace gkd::kernels::cuda {
namespace {

void check_cuda(cudaError_t status, const char* op, const char* what) {
  if (status != cudaSuccess) {
    cudaGetLastError();
    GKD_FAIL("[", op, "] variant cusparse: ", what, ": ", cudaGetErrorString(status));
  }
}

void check_cusparse(cusparseStatus_t status, const char* op, const char* what) {
  if (status != CUSPARSE_STATUS_SUCCESS) {
    GKD_FAIL("[", op, "] variant cusparse: ", what, ": ", cusparseGetErrorString(status));
  }
}

__global__ void narrow_indptr_kernel(const int64_t* in, int32_t* out, int64_t n) {
  GKD_GRID_STRIDE(k, n) {
    out[k] = static_cast<int32_t>(in[k]);
  }
}

__global__ void ones_kernel(float* out, int64_t n) {
  GKD_GRID_STRIDE(k, n) {
    out[k] = 1.0f;
  }
}

// What both baselines keep between calls (the header says why and what it costs).
struct Plan {
  cusparseHandle_t handle = nullptr;
  std::string key;
  int32_t* indptr = nullptr;
  float* ones = nullptr;
  void* work = nullptr;
  cusparseSpMatDescr_t sparse = nullptr;
  cusparseDnMatDescr_t a = nullptr, b = nullptr;

  // Frees everything of the last operands and binds the handle to `stream`.
  void reset(Stream stream, const char* op) {
    if (sparse) cusparseDestroySpMat(sparse);
    if (a) cusparseDestroyDnMat(a);
    if (b) cusparseDestroyDnMat(b);
    cudaFree(indptr);
    cudaFree(ones);
    cudaFree(work);
    *this = Plan{.handle = handle};
    bind(stream, op);
  }
  void bind(Stream stream, const char* op) {
    if (!handle) check_cusparse(cusparseCreate(&handle), op, "cusparseCreate");
    check_cusparse(cusparseSetStream(handle, raw(stream)), op, "cusparseSetStream");
  }
  // The 32-bit row offsets of csr (cuSPARSE takes one index width for both arrays).
  void narrow(const CsrView& csr, Stream stream, const char* op) {
    check_cuda(cudaMalloc(&indptr, (csr.rows + 1) * sizeof(int32_t)), op, "cudaMalloc");
    narrow_indptr_kernel<<<grid_for(csr.rows + 1, kBlock), kBlock, 0, raw(stream)>>>(
        csr.indptr, indptr, csr.rows + 1);
    check_launch(op, "cusparse");
  }
  void allocate_work(size_t bytes, const char* op) {
    check_cuda(cudaMalloc(&work, std::max<size_t>(bytes, 16)), op, "cudaMalloc");
  }
};

std::string key_of(std::initializer_list<const void*> pointers,
                   std::initializer_list<long long> sizes) {
  std::string key;
  char part[32];
  for (const void* p : pointers) key += (std::snprintf(part, sizeof(part), "%p ", p), part);
  for (const long long s : sizes) key += std::to_string(s) + " ";
  return key;
}

}  // namespace

bool cusparse_spmm_supports(const SpmmArgs<float>& a) {
  return a.heads == 1 && !a.mean && a.a.edge_ids == nullptr && a.a.nnz < (int64_t{1} << 31) &&
         a.y.cols > 0;
}

void cusparse_spmm_run(const SpmmArgs<float>& a, Stream stream) {
  if (a.y.rows == 0) return;
  constexpr const char* kOp = "spmm";
  static Plan plan;
  const float alpha = 1.0f, beta = a.accumulate ? 1.0f : 0.0f;
  const std::string key = key_of({a.a.indptr, a.a.indices, a.edge_w, a.x.data, a.y.data},
                                 {a.a.rows, a.a.cols, a.a.nnz, a.y.cols, a.x.ld, a.y.ld});
  plan.bind(stream, kOp);
  if (key != plan.key) {
    plan.reset(stream, kOp);
    plan.narrow(a.a, stream, kOp);
    const float* values = a.edge_w;
    if (!values) {
      const int64_t nnz = std::max<int64_t>(a.a.nnz, 1);
      check_cuda(cudaMalloc(&plan.ones, nnz * sizeof(float)), kOp, "cudaMalloc");
      ones_kernel<<<grid_for(nnz, kBlock), kBlock, 0, raw(stream)>>>(plan.ones, nnz);
      check_launch(kOp, "cusparse");
      values = plan.ones;
    }
    check_cusparse(cusparseCreateCsr(&plan.sparse, a.a.rows, a.a.cols, a.a.nnz, plan.indptr,
                                     const_cast<int32_t*>(a.a.indices), const_cast<float*>(values),
                                     CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                                     CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F),
                   kOp, "cusparseCreateCsr");
    check_cusparse(
        cusparseCreateDnMat(&plan.a, a.a.cols, a.y.cols, a.x.ld, const_cast<float*>(a.x.data),
                            CUDA_R_32F, CUSPARSE_ORDER_ROW),
        kOp, "cusparseCreateDnMat");
    check_cusparse(cusparseCreateDnMat(&plan.b, a.y.rows, a.y.cols, a.y.ld, a.y.data, CUDA_R_32F,
                                       CUSPARSE_ORDER_ROW),
                   kOp, "cusparseCreateDnMat");
    size_t bytes = 0;
    check_cusparse(
        cusparseSpMM_bufferSize(plan.handle, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, plan.sparse, plan.a,
                                &beta, plan.b, CUDA_R_32F, CUSPARSE_SPMM_CSR_ALG2, &bytes),
        kOp, "cusparseSpMM_bufferSize");
    plan.allocate_work(bytes, kOp);
    check_cusparse(
        cusparseSpMM_preprocess(plan.handle, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, plan.sparse, plan.a,
                                &beta, plan.b, CUDA_R_32F, CUSPARSE_SPMM_CSR_ALG2, plan.work),
        kOp, "cusparseSpMM_preprocess");
    plan.key = key;
  }
  check_cusparse(cusparseSpMM(plan.handle, CUSPARSE_OPERATION_NON_TRANSPOSE,
                              CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, plan.sparse, plan.a, &beta,
                              plan.b, CUDA_R_32F, CUSPARSE_SPMM_CSR_ALG2, plan.work),
                 kOp, "cusparseSpMM");
}

bool cusparse_sddmm_supports(const SddmmArgs<float>& a) {
  return a.op == SddmmOp::kDot && a.heads == 1 && a.a.edge_ids == nullptr &&
         a.a.nnz < (int64_t{1} << 31) && a.u.cols > 0;
}

// out[e] = v[dst] · u[src] over the in-CSR: C = V Uᵀ sampled at C's pattern, with V [rows, F]
// and U [cols, F] both row-major (U transposed by the call).
void cusparse_sddmm_run(const SddmmArgs<float>& a, Stream stream) {
  if (a.a.nnz == 0) return;
  constexpr const char* kOp = "sddmm";
  static Plan plan;
  const float alpha = 1.0f, beta = a.accumulate ? 1.0f : 0.0f;
  const std::string key = key_of({a.a.indptr, a.a.indices, a.u.data, a.v.data, a.out.data},
                                 {a.a.rows, a.a.cols, a.a.nnz, a.u.cols, a.u.ld, a.v.ld});
  plan.bind(stream, kOp);
  constexpr cusparseOperation_t kN = CUSPARSE_OPERATION_NON_TRANSPOSE,
                                kT = CUSPARSE_OPERATION_TRANSPOSE;
  if (key != plan.key) {
    plan.reset(stream, kOp);
    plan.narrow(a.a, stream, kOp);
    check_cusparse(
        cusparseCreateCsr(&plan.sparse, a.a.rows, a.a.cols, a.a.nnz, plan.indptr,
                          const_cast<int32_t*>(a.a.indices), a.out.data, CUSPARSE_INDEX_32I,
                          CUSPARSE_INDEX_32I, CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F),
        kOp, "cusparseCreateCsr");
    check_cusparse(
        cusparseCreateDnMat(&plan.a, a.a.rows, a.v.cols, a.v.ld, const_cast<float*>(a.v.data),
                            CUDA_R_32F, CUSPARSE_ORDER_ROW),
        kOp, "cusparseCreateDnMat");
    check_cusparse(
        cusparseCreateDnMat(&plan.b, a.a.cols, a.u.cols, a.u.ld, const_cast<float*>(a.u.data),
                            CUDA_R_32F, CUSPARSE_ORDER_ROW),
        kOp, "cusparseCreateDnMat");
    size_t bytes = 0;
    check_cusparse(
        cusparseSDDMM_bufferSize(plan.handle, kN, kT, &alpha, plan.a, plan.b, &beta, plan.sparse,
                                 CUDA_R_32F, CUSPARSE_SDDMM_ALG_DEFAULT, &bytes),
        kOp, "cusparseSDDMM_bufferSize");
    plan.allocate_work(bytes, kOp);
    check_cusparse(
        cusparseSDDMM_preprocess(plan.handle, kN, kT, &alpha, plan.a, plan.b, &beta, plan.sparse,
                                 CUDA_R_32F, CUSPARSE_SDDMM_ALG_DEFAULT, plan.work),
        kOp, "cusparseSDDMM_preprocess");
    plan.key = key;
  }
  check_cusparse(cusparseSDDMM(plan.handle, kN, kT, &alpha, plan.a, plan.b, &beta, plan.sparse,
                               CUDA_R_32F, CUSPARSE_SDDMM_ALG_DEFAULT, plan.work),
                 kOp, "cusparseSDDMM");
}

}  // namespace gkd::kernels::cuda
