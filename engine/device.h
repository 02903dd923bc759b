// The thin seam between the engine and the CUDA runtime. Two implementations exist and CMake
// links exactly one: engine/device_cuda.cpp (CUDA runtime, cuBLAS, cuSPARSE) when the CUDA backend
// is compiled, engine/device_none.cpp otherwise. No other engine file touches the CUDA runtime.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "kernels/common.h"

struct cublasContext;    // cublasHandle_t
struct cusparseContext;  // cusparseHandle_t

namespace gkd::device {

// True when this build contains the CUDA backend.
bool cuda_compiled();

// Number of usable CUDA devices. Any runtime error (no driver, "driver version is insufficient",
// no device) counts as zero; *why, when given, receives the runtime's reason.
int cuda_device_count(std::string* why = nullptr);

// Name of device 0, e.g. "NVIDIA H100 80GB HBM3"; empty without a device.
std::string cuda_device_name();

// Free bytes on device 0 (cudaMemGetInfo), not counting gkd's own cached blocks; 0 without one.
size_t cuda_free_bytes();

void* cuda_malloc(size_t bytes);  // throws gkd::Error with the size on failure
void cuda_free(void* ptr) noexcept;

enum class CopyKind { kHostToDevice, kDeviceToHost, kDeviceToDevice };
// Pitched 2-D copy of `rows` rows of `row_bytes` bytes; synchronous with respect to the host.
void cuda_copy_2d(void* dst, size_t dst_pitch, const void* src, size_t src_pitch, size_t row_bytes,
                  size_t rows, CopyKind kind);
// Pitched 2-D memset to zero, on the default stream.
void cuda_zero_2d(void* dst, size_t pitch, size_t row_bytes, size_t rows);
void cuda_synchronize(kernels::Stream stream);

kernels::Stream cuda_stream_create();
void cuda_stream_destroy(kernels::Stream stream) noexcept;

cublasContext* cublas_create(kernels::Stream stream);
void cublas_destroy(cublasContext* handle) noexcept;
cusparseContext* cusparse_create(kernels::Stream stream);
void cusparse_destroy(cusparseContext* handle) noexcept;

// ---- timing, for gkd-bench

// Milliseconds between CUDA events recorded on `stream` before and after fn() (fn enqueues work
// on that stream); waits for the second event.
double cuda_elapsed_ms(kernels::Stream stream, const std::function<void()>& fn);

// Overwrites a device buffer larger than the L2 cache on `stream`, so that the next kernel on the
// stream starts with none of its inputs cached (a benchmark's "cold L2" runs).
void cuda_flush_l2(kernels::Stream stream);

// What the card can move: a device-to-device cudaMemcpy of 1 GiB (read + write bytes over the
// median time of 10 copies after one warm-up), in GB/s. Every gkd-bench figure is reported as a
// fraction of it.
double cuda_copy_bandwidth_gbs(kernels::Stream stream);

}  // namespace gkd::device
