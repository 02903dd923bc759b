// CUDA twins of the memory kernels. fill: one thread per element of a row-major view (grid-stride
// over rows * cols); 4 bytes written per element.
#include <cuda_runtime.h>

#include "kernels/cuda/launch.cuh"
#include "kernels/registry.h"

namespace gkd::kernels::cuda {
namespace {

__global__ void fill_kernel(MatView<float> y, float value) {
  const int64_t n = y.rows * y.cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{gridDim.x} * blockDim.x) {
    y(i / y.cols, i % y.cols) = value;
  }
}

}  // namespace

void fill(const FillArgs<float>& a, Stream stream) {
  const int64_t n = a.y.rows * a.y.cols;
  if (n == 0) return;
  fill_kernel<<<grid_for(n, 256), 256, 0, raw(stream)>>>(a.y, a.value);
  check_launch("fill");
}

}  // namespace gkd::kernels::cuda
