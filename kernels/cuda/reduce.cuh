// Device helpers shared by the CUDA twins (included by .cu files only): the output store, the
// fixed-order warp, block and column sums, and the bound search that maps an element to its row.
// Every sum assigns elements to threads and adds partials in a fixed order, so a twin's result is
// the same on every run.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "kernels/cuda/launch.cuh"
#include "kernels/sddmm.h"  // kCosineEps

namespace gkd::kernels::cuda {

// out = value (rounded once), or out + value when accumulating.
__device__ inline void store(float& out, double value, bool accumulate) {
  out = accumulate ? static_cast<float>(out + value) : static_cast<float>(value);
}

// The last b in [0, count) with bounds[b] <= value, for non-decreasing bounds with
// bounds[0] <= value < bounds[count]: the CSR row (indptr) or segment (offsets) holding element
// `value`; empty rows are skipped.
__device__ inline int64_t last_at_most(const int64_t* bounds, int64_t count, int64_t value) {
  int64_t lo = 0, hi = count;  // bounds[lo] <= value < bounds[hi]
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (bounds[mid] <= value) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// Butterfly over the 32 lanes of a full warp; every lane gets the result.
// Σ_j over n features of x·y, |x|^2 and |y|^2, in order, for the cosine similarity with each
// norm clamped at kCosineEps (the CPU twins' cosine_parts, kernels/cpu/sddmm.cpp).
struct CosineParts {
  double dot = 0, xx = 0, yy = 0;
  __device__ double nx() const { return fmax(sqrt(xx), kCosineEps); }
  __device__ double ny() const { return fmax(sqrt(yy), kCosineEps); }
  __device__ double value() const { return dot / (nx() * ny()); }
};

__device__ inline CosineParts cosine_parts(const float* x, const float* y, int64_t n) {
  CosineParts c;
  for (int64_t j = 0; j < n; ++j) {
    c.dot += double(x[j]) * y[j];
    c.xx += double(x[j]) * x[j];
    c.yy += double(y[j]) * y[j];
  }
  return c;
}

__device__ inline double warp_sum(double v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
__device__ inline double warp_max(double v) {
  for (int offset = 16; offset > 0; offset /= 2) {
    v = fmax(v, __shfl_xor_sync(0xffffffffu, v, offset));
  }
  return v;
}

// Σ of v over a 1-D block of kBlock threads by a shared-memory tree; every thread gets the total.
__device__ inline double block_sum(double v) {
  __shared__ double partial[kBlock];
  partial[threadIdx.x] = v;
  __syncthreads();
  for (int width = kBlock / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
    __syncthreads();
  }
  const double total = partial[0];
  __syncthreads();  // partial may be reused by the next call
  return total;
}

// Column sums in blocks of dim3(kColTile, kRowLanes): block b owns columns b·kColTile + x; row
// lane y sums rows y, y + kRowLanes, ... in order and the lanes are added in order. Every thread
// of the block must call; `active` marks a thread whose column exists, value(i) reads its row i.
// Every thread of the column gets the total.
constexpr int kColTile = 32;
constexpr int kRowLanes = 16;

template <class Value>
__device__ double column_total(int64_t rows, bool active, Value value) {
  __shared__ double partial[kRowLanes][kColTile];
  double acc = 0;
  if (active) {
    for (int64_t i = threadIdx.y; i < rows; i += kRowLanes) acc += value(i);
  }
  partial[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  double total = 0;
  for (int r = 0; r < kRowLanes; ++r) total += partial[r][threadIdx.x];
  __syncthreads();  // partial may be reused by the next call
  return total;
}

// Blocks of a column-tile launch over `cols` columns.
inline unsigned column_tiles(int64_t cols) {
  return static_cast<unsigned>((cols + kColTile - 1) / kColTile);
}

}  // namespace gkd::kernels::cuda
