// The device seam over the CUDA runtime, cuBLAS and cuSPARSE (linked only in CUDA builds).
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusparse.h>

#include <algorithm>
#include <vector>

#include "engine/device.h"
#include "engine/error.h"

namespace gkd::device {
namespace {

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls report their own
    GKD_FAIL("[", what, "] CUDA error: ", cudaGetErrorString(status));
  }
}

cudaStream_t raw(kernels::Stream s) {
  return reinterpret_cast<cudaStream_t>(s.handle);
}

}  // namespace

bool cuda_compiled() {
  return true;
}

int cuda_device_count(std::string* why) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    // On GPU-less machines this is "CUDA driver version is insufficient": treat any error as none.
    if (why) *why = cudaGetErrorString(status);
    cudaGetLastError();
    return 0;
  }
  if (why) *why = count == 0 ? "no CUDA device" : "";
  return count;
}

std::string cuda_device_name() {
  if (cuda_device_count() == 0) return {};
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return {};
  return prop.name;
}

size_t cuda_free_bytes() {
  if (cuda_device_count() == 0) return 0;
  size_t free = 0, total = 0;
  if (cudaMemGetInfo(&free, &total) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return free;
}

void* cuda_malloc(size_t bytes) {
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes);
  if (status != cudaSuccess) {
    cudaGetLastError();
    GKD_FAIL("[cuda_malloc] cannot allocate ", bytes,
             " bytes on the device: ", cudaGetErrorString(status));
  }
  return ptr;
}

void cuda_free(void* ptr) noexcept {
  if (ptr && cudaFree(ptr) != cudaSuccess) log(LogLevel::kError, "cudaFree failed");
}

void cuda_copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes,
                  size_t rows, CopyKind kind) {
  if (row_bytes == 0 || rows == 0) return;
  const cudaMemcpyKind k = kind == CopyKind::kHostToDevice   ? cudaMemcpyHostToDevice
                           : kind == CopyKind::kDeviceToHost ? cudaMemcpyDeviceToHost
                                                             : cudaMemcpyDeviceToDevice;
  check(cudaMemcpy2D(dst, dst_pitch, src, src_pitch, row_bytes, rows, k), "cuda_copy_2d");
}

void cuda_zero_2d(void* dst, size_t pitch, size_t row_bytes, size_t rows) {
  if (row_bytes == 0 || rows == 0) return;
  check(cudaMemset2D(dst, pitch, 0, row_bytes, rows), "cuda_zero_2d");
}

void cuda_synchronize(kernels::Stream stream) {
  check(cudaStreamSynchronize(raw(stream)), "cuda_synchronize");
}

kernels::Stream cuda_stream_create() {
  cudaStream_t s = nullptr;
  // A blocking stream: it orders with the legacy stream that the pitched copies and memsets use.
  check(cudaStreamCreate(&s), "cuda_stream_create");
  return kernels::Stream{reinterpret_cast<CUstream_st*>(s)};
}

void cuda_stream_destroy(kernels::Stream stream) noexcept {
  if (stream.handle) cudaStreamDestroy(raw(stream));
}

cublasContext* cublas_create(kernels::Stream stream) {
  cublasHandle_t h = nullptr;
  if (cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) GKD_FAIL("[cublas_create] cuBLAS init failed");
  cublasSetStream(h, raw(stream));
  return h;
}

void cublas_destroy(cublasContext* handle) noexcept {
  if (handle) cublasDestroy(handle);
}

cusparseContext* cusparse_create(kernels::Stream stream) {
  cusparseHandle_t h = nullptr;
  if (cusparseCreate(&h) != CUSPARSE_STATUS_SUCCESS) {
    GKD_FAIL("[cusparse_create] cuSPARSE init failed");
  }
  cusparseSetStream(h, raw(stream));
  return h;
}

void cusparse_destroy(cusparseContext* handle) noexcept {
  if (handle) cusparseDestroy(handle);
}

double cuda_elapsed_ms(kernels::Stream stream, const std::function<void()>& fn) {
  cudaEvent_t start = nullptr, stop = nullptr;
  check(cudaEventCreate(&start), "cuda_elapsed_ms");
  check(cudaEventCreate(&stop), "cuda_elapsed_ms");
  float ms = 0;
  try {
    check(cudaEventRecord(start, raw(stream)), "cuda_elapsed_ms");
    fn();
    check(cudaEventRecord(stop, raw(stream)), "cuda_elapsed_ms");
    check(cudaEventSynchronize(stop), "cuda_elapsed_ms");
    check(cudaEventElapsedTime(&ms, start, stop), "cuda_elapsed_ms");
  } catch (...) {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    throw;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms;
}

void cuda_flush_l2(kernels::Stream stream) {
  // One buffer of 4x the L2 for the process: the card's L2 is tens of MiB, so this is small.
  static void* buffer = nullptr;
  static size_t bytes = 0;
  if (!buffer) {
    int device = 0, l2 = 0;
    check(cudaGetDevice(&device), "cuda_flush_l2");
    check(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, device), "cuda_flush_l2");
    bytes = 4 * static_cast<size_t>(std::max(l2, 1 << 20));
    buffer = cuda_malloc(bytes);
  }
  static unsigned char value = 0;
  check(cudaMemsetAsync(buffer, ++value, bytes, raw(stream)), "cuda_flush_l2");
}

double cuda_copy_bandwidth_gbs(kernels::Stream stream) {
  constexpr size_t kBytes = size_t{1} << 30;
  void* src = cuda_malloc(kBytes);
  void* dst = nullptr;
  try {
    dst = cuda_malloc(kBytes);
    check(cudaMemsetAsync(src, 1, kBytes, raw(stream)), "cuda_copy_bandwidth_gbs");
    const auto copy = [&] {
      check(cudaMemcpyAsync(dst, src, kBytes, cudaMemcpyDeviceToDevice, raw(stream)),
            "cuda_copy_bandwidth_gbs");
    };
    cuda_elapsed_ms(stream, copy);  // warm-up
    std::vector<double> ms;
    for (int r = 0; r < 10; ++r) ms.push_back(cuda_elapsed_ms(stream, copy));
    std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
    cuda_free(src);
    cuda_free(dst);
    return 2.0 * kBytes / (ms[ms.size() / 2] * 1e6);
  } catch (...) {
    cuda_free(src);
    cuda_free(dst);
    throw;
  }
}

}  // namespace gkd::device
