// Launch-error reporting for the CUDA twins. Like the stub, this is where kernels/ reaches
// gkd::Error: a failed launch must surface as the engine's exception, naming the kernel.
#include <cuda_runtime.h>

#include "engine/error.h"

namespace gkd::kernels::cuda {

void check_launch(const char* kernel) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) GKD_FAIL("[", kernel, "] launch failed: ", cudaGetErrorString(status));
}

}  // namespace gkd::kernels::cuda
