// CUDA twins of edge softmax and edge KL (kernels/edge_softmax.h): one thread per (destination
// row, head) walks the row's in-edges in CSR order with double sums (max, then exp-sum, then the
// outputs), so every output has one writer and a result is the same on every run.
//
// Edge softmax has a second variant (kernels/variants.h), row_warp: a warp per row, its lanes
// striding over the row's edges and the max and sum reduced across the warp in a fixed butterfly
// order (still run-to-run identical); one launch does max, exp, sum and normalise. It is chosen
// for graphs whose rows average 32 edges or more, where a thread per row walks long rows alone.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/cuda/variant_pick.h"
#include "kernels/registry.h"
#include "kernels/variants.h"

namespace gkd::kernels::cuda {
namespace {

__global__ void edge_softmax_kernel(EdgeSoftmaxArgs<float> a) {
  GKD_GRID_STRIDE(k, a.a.rows * a.z.cols) {
    const int64_t v = k / a.z.cols, h = k % a.z.cols;
    const int64_t begin = a.a.indptr[v], end = a.a.indptr[v + 1];
    double max = -INFINITY;
    for (int64_t p = begin; p < end; ++p) max = fmax(max, double(a.z(edge_id(a.a, p), h)));
    double sum = 0;
    for (int64_t p = begin; p < end; ++p) sum += exp(double(a.z(edge_id(a.a, p), h)) - max);
    const double log_sum = ::log(sum);
    // p may alias z: each element is read before this thread writes it, and no other thread
    // touches this (row, head).
    for (int64_t p = begin; p < end; ++p) {
      float& out = a.p(edge_id(a.a, p), h);
      const double shifted = double(a.z(edge_id(a.a, p), h)) - max;
      out = static_cast<float>(a.log ? shifted - log_sum : exp(shifted) / sum);
    }
  }
}

__global__ void edge_softmax_backward_kernel(EdgeSoftmaxBackwardArgs<float> a) {
  GKD_GRID_STRIDE(k, a.a.rows * a.y.cols) {
    const int64_t v = k / a.y.cols, h = k % a.y.cols;
    const int64_t begin = a.a.indptr[v], end = a.a.indptr[v + 1];
    double dot = 0;  // softmax: Σ p dp; log-softmax: Σ dlp
    for (int64_t p = begin; p < end; ++p) {
      const int64_t e = edge_id(a.a, p);
      dot += a.log ? double(a.dy(e, h)) : double(a.y(e, h)) * a.dy(e, h);
    }
    for (int64_t p = begin; p < end; ++p) {
      const int64_t e = edge_id(a.a, p);
      const double y = a.y(e, h), dy = a.dy(e, h);
      store(a.dz(e, h), a.log ? dy - exp(y) * dot : y * (dy - dot), a.accumulate);
    }
  }
}

__global__ void edge_kl_kernel(EdgeKlArgs<float> a) {
  GKD_GRID_STRIDE(k, a.a.rows * a.kl.cols) {
    const int64_t v = k / a.kl.cols, h = k % a.kl.cols;
    double acc = 0;
    for (int64_t p = a.a.indptr[v]; p < a.a.indptr[v + 1]; ++p) {
      const int64_t e = edge_id(a.a, p);
      const double lp = a.lp(e, h), pe = exp(lp);
      acc += pe != 0 ? pe * (lp - a.lq(e, h)) : 0.0;  // 0 log 0 = 0
    }
    store(a.kl(v, h), acc, a.accumulate);
  }
}

__global__ void edge_kl_backward_kernel(EdgeKlBackwardArgs<float> a) {
  GKD_GRID_STRIDE(k, a.a.rows * a.lp.cols) {
    const int64_t v = k / a.lp.cols, h = k % a.lp.cols;
    const double g = a.dkl(v, h);
    for (int64_t p = a.a.indptr[v]; p < a.a.indptr[v + 1]; ++p) {
      const int64_t e = edge_id(a.a, p);
      const double lp = a.lp(e, h), pe = exp(lp);
      if (a.dlp.data)
        store(a.dlp(e, h), pe != 0 ? g * pe * (lp - a.lq(e, h) + 1.0) : 0.0, a.accumulate);
      if (a.dlq.data) store(a.dlq(e, h), -g * pe, a.accumulate);
    }
  }
}

}  // namespace

namespace {

__global__ void edge_softmax_warp_kernel(EdgeSoftmaxArgs<float> a) {
  const int lane = threadIdx.x % 32;
  const int64_t warps = int64_t{gridDim.x} * blockDim.x / 32;
  for (int64_t v = (blockIdx.x * int64_t{blockDim.x} + threadIdx.x) / 32; v < a.a.rows;
       v += warps) {
    const int64_t begin = a.a.indptr[v], end = a.a.indptr[v + 1];
    for (int64_t h = 0; h < a.z.cols; ++h) {
      double max = -INFINITY;
      for (int64_t p = begin + lane; p < end; p += 32) {
        max = fmax(max, double(a.z(edge_id(a.a, p), h)));
      }
      max = warp_max(max);
      double sum = 0;
      for (int64_t p = begin + lane; p < end; p += 32) {
        sum += exp(double(a.z(edge_id(a.a, p), h)) - max);
      }
      sum = warp_sum(sum);
      const double log_sum = ::log(sum);
      // p may alias z: a lane reads each of its elements before writing it, and no other lane
      // touches them.
      for (int64_t p = begin + lane; p < end; p += 32) {
        float& out = a.p(edge_id(a.a, p), h);
        const double shifted = double(a.z(edge_id(a.a, p), h)) - max;
        out = static_cast<float>(a.log ? shifted - log_sum : exp(shifted) / sum);
      }
    }
  }
}

// Rows of 32 edges or more on average: a warp's lanes have an edge each.
bool long_rows(const EdgeSoftmaxArgs<float>& a) {
  return a.a.rows > 0 && a.a.nnz >= 32 * a.a.rows;
}

void row_warp_run(const EdgeSoftmaxArgs<float>& a, Stream stream) {
  if (a.a.rows == 0 || a.z.cols == 0) return;
  edge_softmax_warp_kernel<<<grid_for(a.a.rows * 32, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("edge_softmax", "row_warp");
}

void row_thread_run(const EdgeSoftmaxArgs<float>& a, Stream stream) {
  const int64_t n = a.a.rows * a.z.cols;
  if (n == 0) return;
  edge_softmax_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("edge_softmax", "row_thread");
}

constexpr EdgeSoftmaxVariant kEdgeSoftmaxVariants[] = {
    {"row_warp", "a warp per row, warp-reduced max and sum (chosen at 32+ edges per row)", false,
     any_input, row_warp_run, long_rows},
    {"row_thread", "a thread per row and head, the row walked three times (any graph)", false,
     any_input, row_thread_run},
};

}  // namespace

std::span<const EdgeSoftmaxVariant> edge_softmax_variants() {
  return kEdgeSoftmaxVariants;
}

const EdgeSoftmaxVariant& edge_softmax_variant_for(const EdgeSoftmaxArgs<float>& a) {
  return pick_variant(edge_softmax_variants(), a, "edge_softmax");
}

void edge_softmax(const EdgeSoftmaxArgs<float>& a, Stream stream) {
  edge_softmax_variant_for(a).run(a, stream);
}

void edge_softmax_backward(const EdgeSoftmaxBackwardArgs<float>& a, Stream stream) {
  const int64_t n = a.a.rows * a.y.cols;
  if (n == 0) return;
  edge_softmax_backward_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("edge_softmax_backward");
}

void edge_kl(const EdgeKlArgs<float>& a, Stream stream) {
  const int64_t n = a.a.rows * a.kl.cols;
  if (n == 0) return;
  edge_kl_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("edge_kl");
}

void edge_kl_backward(const EdgeKlBackwardArgs<float>& a, Stream stream) {
  const int64_t n = a.a.rows * a.lp.cols;
  if (n == 0) return;
  edge_kl_backward_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("edge_kl_backward");
}

}  // namespace gkd::kernels::cuda
