// CUDA SpMM (kernels/spmm.h) in its variants (kernels/spmm_variants.h):
//
//  - group_row: G = 1..16 lanes per row (the smallest power of two with 4G >= the width), so a
//    warp serves 32/G rows: narrow features (a small student's hidden width) keep every lane busy.
//  - warp_row: a warp per row, each lane 4 columns (16-byte loads) of a 128-column tile: wide
//    features.
//  - element: a thread per output element; any width, layout or alignment (the first twin).
//  - cusparse: cusparseSpMM (CSR, row-major, ALG2, preprocessed), the baseline to beat.
//
// Ours sum each output element's edges in CSR order (no atomics), so a result is the same on every
// run; the row kernels accumulate in float, as cuSPARSE does, and the element kernel in double.
// Edges are read four at a time so that four gathers are in flight per lane.
#include <cuda_runtime.h>
#include <cusparse.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "engine/error.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/registry.h"
#include "kernels/spmm_variants.h"

namespace gkd::kernels::cuda {
namespace {

// ---- element: a thread per output element

__global__ void spmm_element_kernel(SpmmArgs<float> a) {
  const int64_t cols = a.y.cols, f = cols / a.heads;
  GKD_GRID_STRIDE(k, a.y.rows * cols) {
    const int64_t v = k / cols, j = k % cols, h = j / f;
    const int64_t begin = a.a.indptr[v], end = a.a.indptr[v + 1];
    double acc = 0;
    for (int64_t p = begin; p < end; ++p) {
      const double w = a.edge_w ? double(a.edge_w[edge_id(a.a, p) * a.heads + h]) : 1.0;
      acc += w * double(a.x(a.a.indices[p], j));
    }
    if (a.mean && end > begin) acc *= 1.0 / double(end - begin);
    store(a.y(v, j), acc, a.accumulate);
  }
}

bool element_supports(const SpmmArgs<float>&) {
  return true;
}

void element_run(const SpmmArgs<float>& a, Stream stream) {
  const int64_t n = a.y.rows * a.y.cols;
  if (n == 0) return;
  spmm_element_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("spmm/element");
}

// ---- the row kernels: G lanes per row, 4 columns per lane

__device__ inline float4 load4(const float* p) {
  return *reinterpret_cast<const float4*>(p);
}

__device__ inline void add_scaled(float4& acc, float w, float4 x) {
  acc.x += w * x.x;
  acc.y += w * x.y;
  acc.z += w * x.z;
  acc.w += w * x.w;
}

// Row v's sum for the 4 columns from j (all in head h), in CSR order.
__device__ inline float4 row_sum(const SpmmArgs<float>& a, int64_t v, int64_t j, int64_t h) {
  const int64_t begin = a.a.indptr[v], end = a.a.indptr[v + 1];
  const auto weight = [&](int64_t p) {
    return a.edge_w ? a.edge_w[edge_id(a.a, p) * a.heads + h] : 1.0f;
  };
  float4 acc = make_float4(0, 0, 0, 0);
  int64_t p = begin;
  for (; p + 4 <= end; p += 4) {
    float4 x[4];
    float w[4];
#pragma unroll
    for (int u = 0; u < 4; ++u) {
      x[u] = load4(a.x.data + int64_t{a.a.indices[p + u]} * a.x.ld + j);
      w[u] = weight(p + u);
    }
#pragma unroll
    for (int u = 0; u < 4; ++u) add_scaled(acc, w[u], x[u]);
  }
  for (; p < end; ++p) {
    add_scaled(acc, weight(p), load4(a.x.data + int64_t{a.a.indices[p]} * a.x.ld + j));
  }
  if (a.mean && end > begin) {
    const float s = 1.0f / float(end - begin);
    acc = make_float4(acc.x * s, acc.y * s, acc.z * s, acc.w * s);
  }
  return acc;
}

__device__ inline void store4(const SpmmArgs<float>& a, int64_t v, int64_t j, float4 acc) {
  float* y = a.y.data + v * a.y.ld + j;
  if (a.accumulate) {
    const float4 old = load4(y);
    acc = make_float4(old.x + acc.x, old.y + acc.y, old.z + acc.z, old.w + acc.w);
  }
  *reinterpret_cast<float4*>(y) = acc;
}

// G lanes per row; a row's 4G columns per pass, as many passes as its width needs.
template <int G>
__global__ void spmm_rows_kernel(SpmmArgs<float> a) {
  const int64_t cols = a.y.cols, f = cols / a.heads;
  const int64_t group = (blockIdx.x * int64_t{blockDim.x} + threadIdx.x) / G;
  const int64_t groups = int64_t{gridDim.x} * blockDim.x / G;
  const int lane = threadIdx.x % G;
  for (int64_t v = group; v < a.a.rows; v += groups) {
    for (int64_t j = 4 * lane; j < cols; j += 4 * G) store4(a, v, j, row_sum(a, v, j, j / f));
  }
}

// 16-byte loads and stores of whole heads: 4 columns of a lane never straddle a head.
bool vector_layout(const SpmmArgs<float>& a) {
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  const int64_t f = a.y.cols / a.heads;
  return f % 4 == 0 && a.x.ld % 4 == 0 && a.y.ld % 4 == 0 && aligned(a.x.data) && aligned(a.y.data);
}

constexpr int64_t kGroupMaxCols = 64;  // group_row up to 16 lanes of 4 columns

bool group_supports(const SpmmArgs<float>& a) {
  return vector_layout(a) && a.y.cols <= kGroupMaxCols;
}

bool warp_supports(const SpmmArgs<float>& a) {
  return vector_layout(a);
}

template <int G>
void launch_rows(const SpmmArgs<float>& a, Stream stream, const char* name) {
  if (a.y.rows == 0 || a.y.cols == 0) return;
  spmm_rows_kernel<G><<<grid_for(a.y.rows * G, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch(name);
}

void group_run(const SpmmArgs<float>& a, Stream stream) {
  const int64_t lanes = (a.y.cols + 3) / 4;
  if (lanes <= 1) return launch_rows<1>(a, stream, "spmm/group_row");
  if (lanes <= 2) return launch_rows<2>(a, stream, "spmm/group_row");
  if (lanes <= 4) return launch_rows<4>(a, stream, "spmm/group_row");
  if (lanes <= 8) return launch_rows<8>(a, stream, "spmm/group_row");
  return launch_rows<16>(a, stream, "spmm/group_row");
}

void warp_run(const SpmmArgs<float>& a, Stream stream) {
  launch_rows<32>(a, stream, "spmm/warp_row");
}

// ---- cusparse: the baseline

void check_cuda(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    cudaGetLastError();
    GKD_FAIL("[spmm/cusparse] ", what, ": ", cudaGetErrorString(status));
  }
}

void check_cusparse(cusparseStatus_t status, const char* what) {
  if (status != CUSPARSE_STATUS_SUCCESS) {
    GKD_FAIL("[spmm/cusparse] ", what, ": ", cusparseGetErrorString(status));
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

// One cached plan: the handle, the 32-bit row offsets and unit weights cuSPARSE needs, the
// descriptors and the preprocessed workspace of the last call's operands. A call with other
// operands rebuilds it (allocations included), so the first call on new operands is not a timing
// call and the variant is not safe to capture in a CUDA graph: it is a benchmark baseline.
struct CusparsePlan {
  cusparseHandle_t handle = nullptr;
  std::string key;
  int32_t* indptr = nullptr;
  float* ones = nullptr;
  void* work = nullptr;
  cusparseSpMatDescr_t a = nullptr;
  cusparseDnMatDescr_t x = nullptr, y = nullptr;

  void release() {
    if (a) cusparseDestroySpMat(a);
    if (x) cusparseDestroyDnMat(x);
    if (y) cusparseDestroyDnMat(y);
    cudaFree(indptr);
    cudaFree(ones);
    cudaFree(work);
    *this = CusparsePlan{.handle = handle};
  }
};

std::string plan_key(const SpmmArgs<float>& a) {
  char key[256];
  std::snprintf(key, sizeof(key), "%p %p %p %p %p %lld %lld %lld %lld %lld %lld %d",
                static_cast<const void*>(a.a.indptr), static_cast<const void*>(a.a.indices),
                static_cast<const void*>(a.edge_w), static_cast<const void*>(a.x.data),
                static_cast<const void*>(a.y.data), (long long)a.a.rows, (long long)a.a.cols,
                (long long)a.a.nnz, (long long)a.y.cols, (long long)a.x.ld, (long long)a.y.ld,
                int(a.accumulate));
  return key;
}

bool cusparse_supports(const SpmmArgs<float>& a) {
  return a.heads == 1 && !a.mean && a.a.edge_ids == nullptr && a.a.nnz < (int64_t{1} << 31) &&
         a.y.cols > 0;
}

void cusparse_run(const SpmmArgs<float>& a, Stream stream) {
  if (a.y.rows == 0) return;
  static CusparsePlan plan;
  const float alpha = 1.0f, beta = a.accumulate ? 1.0f : 0.0f;
  const auto spmm_call = [&](auto&& fn, const char* what) {
    check_cusparse(
        fn(plan.handle, CUSPARSE_OPERATION_NON_TRANSPOSE, CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha,
           plan.a, plan.x, &beta, plan.y, CUDA_R_32F, CUSPARSE_SPMM_CSR_ALG2),
        what);
  };
  if (!plan.handle) check_cusparse(cusparseCreate(&plan.handle), "cusparseCreate");
  check_cusparse(cusparseSetStream(plan.handle, raw(stream)), "cusparseSetStream");
  const std::string key = plan_key(a);
  if (key != plan.key) {
    plan.release();
    const int64_t nnz = std::max<int64_t>(a.a.nnz, 1);
    check_cuda(cudaMalloc(&plan.indptr, (a.a.rows + 1) * sizeof(int32_t)), "cudaMalloc");
    narrow_indptr_kernel<<<grid_for(a.a.rows + 1, kBlock), kBlock, 0, raw(stream)>>>(
        a.a.indptr, plan.indptr, a.a.rows + 1);
    check_launch("spmm/cusparse");
    const float* values = a.edge_w;
    if (!values) {
      check_cuda(cudaMalloc(&plan.ones, nnz * sizeof(float)), "cudaMalloc");
      ones_kernel<<<grid_for(nnz, kBlock), kBlock, 0, raw(stream)>>>(plan.ones, nnz);
      check_launch("spmm/cusparse");
      values = plan.ones;
    }
    check_cusparse(cusparseCreateCsr(&plan.a, a.a.rows, a.a.cols, a.a.nnz, plan.indptr,
                                     const_cast<int32_t*>(a.a.indices), const_cast<float*>(values),
                                     CUSPARSE_INDEX_32I, CUSPARSE_INDEX_32I,
                                     CUSPARSE_INDEX_BASE_ZERO, CUDA_R_32F),
                   "cusparseCreateCsr");
    check_cusparse(
        cusparseCreateDnMat(&plan.x, a.a.cols, a.y.cols, a.x.ld, const_cast<float*>(a.x.data),
                            CUDA_R_32F, CUSPARSE_ORDER_ROW),
        "cusparseCreateDnMat");
    check_cusparse(cusparseCreateDnMat(&plan.y, a.y.rows, a.y.cols, a.y.ld, a.y.data, CUDA_R_32F,
                                       CUSPARSE_ORDER_ROW),
                   "cusparseCreateDnMat");
    size_t bytes = 0;
    check_cusparse(
        cusparseSpMM_bufferSize(plan.handle, CUSPARSE_OPERATION_NON_TRANSPOSE,
                                CUSPARSE_OPERATION_NON_TRANSPOSE, &alpha, plan.a, plan.x, &beta,
                                plan.y, CUDA_R_32F, CUSPARSE_SPMM_CSR_ALG2, &bytes),
        "cusparseSpMM_bufferSize");
    check_cuda(cudaMalloc(&plan.work, std::max<size_t>(bytes, 16)), "cudaMalloc");
    spmm_call([&](auto... args) { return cusparseSpMM_preprocess(args..., plan.work); },
              "cusparseSpMM_preprocess");
    plan.key = key;
  }
  spmm_call([&](auto... args) { return cusparseSpMM(args..., plan.work); }, "cusparseSpMM");
}

// Ordered as spmm_variant_for tries them: narrow first, then wide, then any shape.
constexpr SpmmVariant kVariants[] = {
    {"group_row", "1-16 lanes per row, 4 columns per lane (widths <= 64, multiples of 4)", false,
     group_supports, group_run},
    {"warp_row", "a warp per row, 4 columns per lane, 128-column passes (multiples of 4)", false,
     warp_supports, warp_run},
    {"element", "a thread per output element, double accumulation (any shape)", false,
     element_supports, element_run},
    {"cusparse", "cusparseSpMM CSR ALG2 with preprocess (one head, in-CSR, no mean)", true,
     cusparse_supports, cusparse_run},
};

}  // namespace

std::span<const SpmmVariant> spmm_variants() {
  return kVariants;
}

const SpmmVariant& spmm_variant_for(const SpmmArgs<float>& a) {
  if (a.variant) {
    for (const SpmmVariant& v : kVariants) {
      if (std::strcmp(v.name, a.variant) != 0) continue;
      GKD_CHECK(v.supports(a), "[spmm] variant ", v.name, " does not support this input (", v.doc,
                ")");
      return v;
    }
    std::string names;
    for (const SpmmVariant& v : kVariants) names += std::string(names.empty() ? "" : ", ") + v.name;
    GKD_FAIL("[spmm] unknown variant '", a.variant, "' (expected one of ", names, ")");
  }
  for (const SpmmVariant& v : kVariants) {
    if (!v.baseline && v.supports(a)) return v;
  }
  GKD_FAIL("[spmm] no variant supports this input");  // unreachable: element supports all
}

void spmm(const SpmmArgs<float>& a, Stream stream) {
  spmm_variant_for(a).run(a, stream);
}

}  // namespace gkd::kernels::cuda
