// Launch helpers shared by the CUDA twins (included by .cu files only).
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/common.h"

namespace gkd::kernels::cuda {

inline cudaStream_t raw(Stream s) {
  return reinterpret_cast<cudaStream_t>(s.handle);
}

// Blocks for a grid-stride loop over n items; capped so huge n does not overflow gridDim.x.
inline unsigned grid_for(int64_t n, int block) {
  return static_cast<unsigned>(std::min<int64_t>((n + block - 1) / block, int64_t{1} << 20));
}

// Throws gkd::Error naming the kernel when its launch failed (kernels/cuda/launch.cpp).
void check_launch(const char* kernel);

}  // namespace gkd::kernels::cuda
