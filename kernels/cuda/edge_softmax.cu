// CUDA twins of edge softmax and edge KL (kernels/edge_softmax.h): one thread per (destination
// row, head) walks the row's in-edges in CSR order with double sums (max, then exp-sum, then the
// outputs), so every output has one writer and a result is the same on every run. The fused
// one-launch, warp-per-row variant comes with gkd-bench on a GPU.
#include <cuda_runtime.h>

#include <cmath>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/registry.h"

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
    const double log_sum = log(sum);
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

void edge_softmax(const EdgeSoftmaxArgs<float>& a, Stream stream) {
  const int64_t n = a.a.rows * a.z.cols;
  if (n == 0) return;
  edge_softmax_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("edge_softmax");
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
