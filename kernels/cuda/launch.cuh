// Launch helpers shared by the CUDA twins (included by .cu files only).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/common.h"

namespace gkd::kernels::cuda {

// Threads per block of the twins' 1-D launches.
constexpr int kBlock = 256;

inline cudaStream_t raw(Stream s) {
  return reinterpret_cast<cudaStream_t>(s.handle);
}

// Blocks for a grid-stride loop over n items; capped so huge n does not overflow gridDim.x.
inline unsigned grid_for(int64_t n, int block) {
  return static_cast<unsigned>(std::min<int64_t>((n + block - 1) / block, int64_t{1} << 20));
}

// A grid-stride loop of k over [0, n) (each thread from its global index, stepping by the grid).
#define GKD_GRID_STRIDE(k, n)                                             \
  for (int64_t k = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; k < n; \
       k += int64_t{gridDim.x} * blockDim.x)

// Throws gkd::Error naming the kernel when its launch failed (kernels/cuda/launch.cpp).
void check_launch(const char* kernel);
// The same for one variant of a kernel (kernels/variants.h): "[spmm] variant warp_row: ...".
void check_launch(const char* kernel, const char* variant);
// Throws gkd::Error naming the kernel when a cuBLAS call returned a status other than success.
void check_cublas(const char* kernel, int status);
// Throws gkd::Error naming the kernel, `what`, the value got and the twin's maximum when got > max.
void check_limit(const char* kernel, const char* what, int64_t got, int64_t max);

}  // namespace gkd::kernels::cuda
