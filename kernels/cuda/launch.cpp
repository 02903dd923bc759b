// Launch-error reporting for the CUDA twins. Like the stub, this is where kernels/ reaches
// gkd::Error: a failed launch must surface as the engine's exception, naming the kernel.
#include <cuda_runtime.h>

#include "engine/error.h"

namespace gkd::kernels::cuda {

void check_launch(const char* kernel) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) GKD_FAIL("[", kernel, "] launch failed: ", cudaGetErrorString(status));
}

void check_launch(const char* kernel, const char* variant) {
  const cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) {
    GKD_FAIL("[", kernel, "] variant ", variant, ": launch failed: ", cudaGetErrorString(status));
  }
}

void check_cublas(const char* kernel, int status) {
  if (status != 0) GKD_FAIL("[", kernel, "] cuBLAS call failed (status ", status, ")");
}

void check_limit(const char* kernel, const char* what, int64_t got, int64_t max) {
  if (got > max) {
    GKD_FAIL("[", kernel, "] ", got, " ", what, " (the CUDA twin takes at most ", max,
             "; run it on a CPU context)");
  }
}

}  // namespace gkd::kernels::cuda
