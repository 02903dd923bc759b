// Draws Philox bits on the device for the host-side parity test (identical streams on both sides
// are what makes dropout masks and initialisations match across backends).
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "kernels/philox.h"

namespace {

__global__ void philox_bits_kernel(uint64_t seed, uint64_t stream, int64_t n, uint32_t* out) {
  const int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (i < n) out[i] = gkd::kernels::philox_bits(seed, stream, static_cast<uint64_t>(i));
}

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw std::runtime_error(std::string(what) + ": " + cudaGetErrorString(status));
}

}  // namespace

namespace gkd::test {

void philox_bits_on_device(uint64_t seed, uint64_t stream, int64_t n, uint32_t* host_out) {
  uint32_t* d = nullptr;
  check(cudaMalloc(&d, n * sizeof(uint32_t)), "cudaMalloc");
  philox_bits_kernel<<<static_cast<unsigned>((n + 255) / 256), 256>>>(seed, stream, n, d);
  check(cudaGetLastError(), "philox_bits_kernel");
  check(cudaMemcpy(host_out, d, n * sizeof(uint32_t), cudaMemcpyDeviceToHost), "cudaMemcpy");
  check(cudaFree(d), "cudaFree");
}

}  // namespace gkd::test
