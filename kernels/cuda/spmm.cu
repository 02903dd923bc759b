// CUDA SpMM (kernels/spmm.h) in its variants (kernels/variants.h):
//
//  - group_row: G = 1..16 lanes per row (the smallest power of two with 4G >= the width), so a
//    warp serves 32/G rows: narrow features (a small student's hidden width) keep every lane busy.
//  - warp_row: a warp per row, each lane 4 columns (16-byte loads) of a 128-column tile: wide
//    features.
//  - element: a thread per output element; any width, layout or alignment (the first twin).
//  - cusparse: cusparseSpMM (CSR, row-major, ALG2, preprocessed), the baseline to beat
//    (kernels/cuda/cusparse_baselines.cu).
//
// Ours sum each output element's edges in CSR order (no atomics), so a result is the same on every
// run; the row kernels accumulate in float, as cuSPARSE does, and the element kernel in double.
// Edges are read four at a time so that four gathers are in flight per lane.
#include <cuda_runtime.h>

#include "kernels/cuda/cusparse_baselines.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/variant_pick.h"
#include "kernels/registry.h"
#include "kernels/variants.h"

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

void element_run(const SpmmArgs<float>& a, Stream stream) {
  const int64_t n = a.y.rows * a.y.cols;
  if (n == 0) return;
  spmm_element_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("spmm", "element");
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
void launch_rows(const SpmmArgs<float>& a, Stream stream, const char* variant) {
  if (a.y.rows == 0 || a.y.cols == 0) return;
  spmm_rows_kernel<G><<<grid_for(a.y.rows * G, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("spmm", variant);
}

void group_run(const SpmmArgs<float>& a, Stream stream) {
  const int64_t lanes = (a.y.cols + 3) / 4;
  if (lanes <= 1) return launch_rows<1>(a, stream, "group_row");
  if (lanes <= 2) return launch_rows<2>(a, stream, "group_row");
  if (lanes <= 4) return launch_rows<4>(a, stream, "group_row");
  if (lanes <= 8) return launch_rows<8>(a, stream, "group_row");
  return launch_rows<16>(a, stream, "group_row");
}

void warp_run(const SpmmArgs<float>& a, Stream stream) {
  launch_rows<32>(a, stream, "warp_row");
}

// Ordered as the pick tries them: narrow first, then wide, then any shape.
constexpr SpmmVariant kVariants[] = {
    {"group_row", "1-16 lanes per row, 4 columns per lane (widths <= 64, multiples of 4)", false,
     group_supports, group_run},
    {"warp_row", "a warp per row, 4 columns per lane, 128-column passes (multiples of 4)", false,
     warp_supports, warp_run},
    {"element", "a thread per output element, double accumulation (any shape)", false, any_input,
     element_run},
    {"cusparse", "cusparseSpMM CSR ALG2 with preprocess (one head, in-CSR, no mean)", true,
     cusparse_spmm_supports, cusparse_spmm_run},
};

}  // namespace

std::span<const SpmmVariant> spmm_variants() {
  return kVariants;
}

const SpmmVariant& spmm_variant_for(const SpmmArgs<float>& a) {
  return pick_variant(spmm_variants(), a, "spmm");
}

void spmm(const SpmmArgs<float>& a, Stream stream) {
  spmm_variant_for(a).run(a, stream);
}

}  // namespace gkd::kernels::cuda
