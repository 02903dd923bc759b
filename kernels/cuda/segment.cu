// CUDA twins of the segment reductions and the row gather / scatter-add (kernels/segment.h), one
// thread per output element: a segment's rows are walked in order with a double sum (or the first
// maximum), so results are the same on every run. The scatter-add thread of target row r scans
// the whole index for the rows mapped to r, in increasing order (the CPU twin's order, without
// the inverse index, which would need device scratch memory): O(M) per output element, fine for
// embedding tables, not for large targets.
#include <cuda_runtime.h>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/registry.h"

namespace gkd::kernels::cuda {
namespace {

__global__ void segment_reduce_kernel(SegmentReduceArgs<float> a) {
  const int64_t width = a.x.cols;
  GKD_GRID_STRIDE(k, a.y.rows * width) {
    const int64_t b = k / width, j = k % width;
    const int64_t begin = a.offsets[b], end = a.offsets[b + 1];
    double value = 0;
    if (a.op == SegmentOp::kMax) {
      int64_t arg = -1;
      for (int64_t i = begin; i < end; ++i) {
        if (arg < 0 || a.x(i, j) > a.x(arg, j)) arg = i;  // strict: ties keep the first row
      }
      value = arg < 0 ? 0.0 : double(a.x(arg, j));
      a.argmax(b, j) = arg;
    } else {
      for (int64_t i = begin; i < end; ++i) value += a.x(i, j);
      if (a.op == SegmentOp::kMean && end > begin) value /= double(end - begin);
    }
    store(a.y(b, j), value, a.accumulate);
  }
}

__global__ void segment_reduce_backward_kernel(SegmentReduceBackwardArgs<float> a) {
  const int64_t width = a.dx.cols, segments = a.dy.rows;
  GKD_GRID_STRIDE(k, a.dx.rows * width) {
    const int64_t i = k / width, j = k % width;
    const int64_t b = last_at_most(a.offsets, segments, i);
    const int64_t len = a.offsets[b + 1] - a.offsets[b];
    const double g = a.op == SegmentOp::kMax    ? (a.argmax(b, j) == i ? double(a.dy(b, j)) : 0.0)
                     : a.op == SegmentOp::kMean ? 1.0 / double(len) * double(a.dy(b, j))
                                                : double(a.dy(b, j));
    store(a.dx(i, j), g, a.accumulate);
  }
}

__global__ void gather_rows_kernel(GatherRowsArgs<float> a) {
  const int64_t width = a.y.cols;
  GKD_GRID_STRIDE(k, a.y.rows * width) {
    const int64_t i = k / width, j = k % width;
    const int64_t r = a.index64 ? a.index64[i] : static_cast<int64_t>(a.index32[i]);
    store(a.y(i, j), double(a.x(r, j)), a.accumulate);
  }
}

__global__ void scatter_add_rows_kernel(ScatterAddRowsArgs<float> a) {
  const int64_t width = a.y.cols, m = a.x.rows;
  GKD_GRID_STRIDE(k, a.y.rows * width) {
    const int64_t r = k / width, j = k % width;
    double acc = 0;
    for (int64_t i = 0; i < m; ++i) {
      const int64_t target = a.index64 ? a.index64[i] : static_cast<int64_t>(a.index32[i]);
      if (target == r) acc += a.x(i, j);
    }
    store(a.y(r, j), acc, a.accumulate);
  }
}

}  // namespace

void segment_reduce(const SegmentReduceArgs<float>& a, Stream stream) {
  const int64_t n = a.y.rows * a.y.cols;
  if (n == 0) return;
  segment_reduce_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("segment_reduce");
}

void segment_reduce_backward(const SegmentReduceBackwardArgs<float>& a, Stream stream) {
  const int64_t n = a.dx.rows * a.dx.cols;
  if (n == 0) return;
  segment_reduce_backward_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("segment_reduce_backward");
}

void gather_rows(const GatherRowsArgs<float>& a, Stream stream) {
  const int64_t n = a.y.rows * a.y.cols;
  if (n == 0) return;
  gather_rows_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("gather_rows");
}

void scatter_add_rows(const ScatterAddRowsArgs<float>& a, Stream stream) {
  const int64_t n = a.y.rows * a.y.cols;
  if (n == 0) return;
  scatter_add_rows_kernel<<<grid_for(n, kBlock), kBlock, 0, raw(stream)>>>(a);
  check_launch("scatter_add_rows");
}

}  // namespace gkd::kernels::cuda
