// CUDA twins of the SDDMM-shaped edge kernels (kernels/sddmm.h), written for correctness first:
// every output element has one thread, which walks its row of the CSR in order and accumulates in
// double (no atomics, so a result is the same on every run). SpMM and its variants are in spmm.cu.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/cusparse_baselines.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/variant_pick.h"
#include "kernels/registry.h"
#include "kernels/variants.h"

namespace gkd::kernels::cuda {
namespace {

// The row (destination) of in-CSR position p.
__device__ inline int64_t row_of(const CsrView& a, int64_t p) {
  return last_at_most(a.indptr, a.rows, p);
}

// Σ_j over one head's slice of x and y for op; cosine returns the cosine.
template <SddmmOp Op>
__device__ double reduce_pair(const float* x, const float* y, int64_t f) {
  if constexpr (Op == SddmmOp::kCosine) return cosine_parts(x, y, f).value();
  double acc = 0;
  for (int64_t j = 0; j < f; ++j) {
    const double xj = x[j], yj = y[j];
    if constexpr (Op == SddmmOp::kDot) acc += xj * yj;
    if constexpr (Op == SddmmOp::kL1) acc += fabs(xj - yj);
    if constexpr (Op == SddmmOp::kSquaredL2) acc += (xj - yj) * (xj - yj);
  }
  return acc;
}

template <SddmmOp Op>
__global__ void sddmm_kernel(SddmmArgs<float> a) {
  const int64_t f = a.u.cols / a.heads;
  GKD_GRID_STRIDE(k, a.a.nnz * a.heads) {
    const int64_t e = k / a.heads, h = k % a.heads;
    const int64_t dst = row_of(a.a, e), src = a.a.indices[e];
    const double value = reduce_pair<Op>(&a.u(src, h * f), &a.v(dst, h * f), f);
    store(a.out(e, h), value, a.accumulate);
  }
}

// One element d[r, j] of sddmm_backward: x is the differentiated operand's row slice, y the other.
template <SddmmOp Op>
__global__ void sddmm_backward_kernel(SddmmBackwardArgs<float> a) {
  const int64_t cols = a.d.cols, f = cols / a.heads;
  const bool wrt_u = a.wrt == SddmmSide::kU;
  GKD_GRID_STRIDE(k, a.d.rows * cols) {
    const int64_t r = k / cols, j = k % cols, h = j / f, jj = j % f;
    const float* x = wrt_u ? &a.u(r, h * f) : &a.v(r, h * f);
    double acc = 0;
    for (int64_t p = a.a.indptr[r]; p < a.a.indptr[r + 1]; ++p) {
      const int64_t other = a.a.indices[p], e = edge_id(a.a, p);
      const float* y = wrt_u ? &a.v(other, h * f) : &a.u(other, h * f);
      const double g = a.grad(e, h), xj = x[jj], yj = y[jj];
      if constexpr (Op == SddmmOp::kDot) {
        acc += g * yj;
      } else if constexpr (Op == SddmmOp::kL1) {
        acc += g * (double(xj > yj) - double(xj < yj));
      } else if constexpr (Op == SddmmOp::kSquaredL2) {
        acc += 2.0 * g * (xj - yj);
      } else {
        const CosineParts c = cosine_parts(x, y, f);
        const double nx = c.nx(), ny = c.ny();
        const double self = sqrt(c.xx) > kCosineEps ? c.value() / (nx * nx) : 0.0;
        acc += g * (yj / (nx * ny) - self * xj);
      }
    }
    store(a.d(r, j), acc, a.accumulate);
  }
}

__global__ void u_add_v_kernel(UAddVArgs<float> a) {
  const int64_t heads = a.out.cols;
  const double slope = a.leaky_relu ? double(a.negative_slope) : 1.0;
  GKD_GRID_STRIDE(k, a.a.nnz * heads) {
    const int64_t e = k / heads, h = k % heads;
    const int64_t dst = row_of(a.a, e), src = a.a.indices[e];
    const double s = double(a.a_src(src, h)) + double(a.a_dst(dst, h));
    store(a.out(e, h), s < 0 ? s * slope : s, a.accumulate);
  }
}

__global__ void edge_reduce_kernel(EdgeReduceArgs<float> a) {
  const int64_t heads = a.out.cols;
  const double slope = a.negative_slope;
  GKD_GRID_STRIDE(k, a.out.rows * heads) {
    const int64_t r = k / heads, h = k % heads;
    double acc = 0;
    for (int64_t p = a.a.indptr[r]; p < a.a.indptr[r + 1]; ++p) {
      const int64_t e = edge_id(a.a, p);
      const double gamma = a.gate.data && !(a.gate(e, h) > 0) ? slope : 1.0;
      acc += gamma * double(a.w(e, h));
    }
    store(a.out(r, h), acc, a.accumulate);
  }
}

__global__ void edge_map_kernel(EdgeMapArgs<float> a) {
  GKD_GRID_STRIDE(k, a.x.rows * a.x.cols) {
    const int64_t e = k / a.x.cols, h = k % a.x.cols;
    const double x = a.x(e, h);
    const double y = a.op == EdgeMapOp::kExpNeg ? exp(-double(a.scale) * x)
                                                : pow(x + double(a.shift), double(a.degree));
    store(a.y(e, h), y, a.accumulate);
  }
}

__global__ void edge_map_backward_kernel(EdgeMapBackwardArgs<float> a) {
  const double scale = a.scale, shift = a.shift, degree = a.degree;
  GKD_GRID_STRIDE(k, a.x.rows * a.x.cols) {
    const int64_t e = k / a.x.cols, h = k % a.x.cols;
    const double x = a.x(e, h);
    const double dydx =
        a.op == EdgeMapOp::kExpNeg ? -scale * exp(-scale * x) : degree * pow(x + shift, degree - 1);
    store(a.dx(e, h), double(a.dy(e, h)) * dydx, a.accumulate);
  }
}

}  // namespace

namespace {

// The SDDMM variants: ours (a thread per edge and head) and the cuSPARSE baseline.
void element_sddmm_run(const SddmmArgs<float>& a, Stream stream) {
  const int64_t n = a.a.nnz * a.heads;
  if (n == 0) return;
  const unsigned grid = grid_for(n, kBlock);
  switch (a.op) {
    case SddmmOp::kDot:
      sddmm_kernel<SddmmOp::kDot><<<grid, kBlock, 0, raw(stream)>>>(a);
      break;
    case SddmmOp::kL1:
      sddmm_kernel<SddmmOp::kL1><<<grid, kBlock, 0, raw(stream)>>>(a);
      break;
    case SddmmOp::kSquaredL2:
      sddmm_kernel<SddmmOp::kSquaredL2><<<grid, kBlock, 0, raw(stream)>>>(a);
      break;
    case SddmmOp::kCosine:
      sddmm_kernel<SddmmOp::kCosine><<<grid, kBlock, 0, raw(stream)>>>(a);
      break;
  }
  check_launch("sddmm", "element");
}

constexpr SddmmVariant kSddmmVariants[] = {
    {"element", "a thread per edge and head, double accumulation (every op)", false, any_input,
     element_sddmm_run},
    {"cusparse", "cusparseSDDMM with preprocess (dot, one head, in-CSR)", true,
     cusparse_sddmm_supports, cusparse_sddmm_run},
};

}  // namespace

std::span<const SddmmVariant> sddmm_variants() {
  return kSddmmVariants;
}

const SddmmVariant& sddmm_variant_for(const SddmmArgs<float>& a) {
  return pick_variant(sddmm_variants(), a, "sddmm");
}

void sddmm(const SddmmArgs<float>& a, Stream stream) {
  sddmm_variant_for(a).run(a, stream);
}

void sddmm_backward(const SddmmBackwardArgs<float>& a, Stream stream) {
  const int64_t n = a.d.rows * a.d.cols;
  if (n == 0) return;
  const unsigned grid = grid_for(n, kBlock);
  switch (a.op) {
    case SddmmOp::kDot:
      sddmm_backward_kernel<SddmmOp::kDot><<<grid, kBlock, 0, raw(stream)>>>(a);
      break;
    case SddmmOp::kL1:
      sddmm_backward_kernel<SddmmOp::kL1><<<grid, kBlock, 0, raw(stream)>>>(a);
      break;
    case SddmmOp::kSquaredL2:
      sddmm_backward_kernel<SddmmOp::kSquaredL2><<<grid, kBlock, 0, raw(stream)>>>(a);
      break;
    case SddmmOp::kCosine:
      sddmm_backward_kernel<SddmmOp::kCosine><<<grid, kBlock, 0, raw(stream)>>>(a);
      break;
  }
  check_launch("sddmm_backward");
}

void u_add_v(const UAddVArgs<float>& a, Stream stream) {
  const int64_t n = a.a.nnz * a.out.cols;
  if (n == 0) return;
  u_add_v_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("u_add_v");
}

void edge_reduce(const EdgeReduceArgs<float>& a, Stream stream) {
  const int64_t n = a.out.rows * a.out.cols;
  if (n == 0) return;
  edge_reduce_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("edge_reduce");
}

void edge_map(const EdgeMapArgs<float>& a, Stream stream) {
  const int64_t n = a.x.rows * a.x.cols;
  if (n == 0) return;
  edge_map_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("edge_map");
}

void edge_map_backward(const EdgeMapBackwardArgs<float>& a, Stream stream) {
  const int64_t n = a.x.rows * a.x.cols;
  if (n == 0) return;
  edge_map_backward_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("edge_map_backward");
}

}  // namespace gkd::kernels::cuda
