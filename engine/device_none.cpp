// The device seam for builds without the CUDA backend: no devices, and every request that needs
// one fails with a message saying how to get a CUDA build.
#include "engine/device.h"
#include "engine/error.h"

namespace gkd::device {
namespace {
[[noreturn]] void no_cuda(const char* what) {
  GKD_FAIL("[", what,
           "] this build has no CUDA backend (reconfigure with -DGKD_CUDA=ON on a "
           "machine with nvcc)");
}
}  // namespace

bool cuda_compiled() {
  return false;
}
int cuda_device_count(std::string* why) {
  if (why) *why = "built without CUDA";
  return 0;
}
std::string cuda_device_name() {
  return {};
}
size_t cuda_free_bytes() {
  return 0;
}
void* cuda_malloc(size_t) {
  no_cuda("cuda_malloc");
}
void cuda_free(void*) noexcept {}
void cuda_copy_2d(void*, size_t, const void*, size_t, size_t, size_t, CopyKind) {
  no_cuda("cuda_copy_2d");
}
void cuda_zero_2d(void*, size_t, size_t, size_t) {
  no_cuda("cuda_zero_2d");
}
void cuda_synchronize(kernels::Stream) {
  no_cuda("cuda_synchronize");
}
kernels::Stream cuda_stream_create() {
  no_cuda("cuda_stream_create");
}
void cuda_stream_destroy(kernels::Stream) noexcept {}
cublasContext* cublas_create(kernels::Stream) {
  no_cuda("cublas_create");
}
void cublas_destroy(cublasContext*) noexcept {}
cusparseContext* cusparse_create(kernels::Stream) {
  no_cuda("cusparse_create");
}
void cusparse_destroy(cusparseContext*) noexcept {}
double cuda_elapsed_ms(kernels::Stream, const std::function<void()>&) {
  no_cuda("cuda_elapsed_ms");
}
void cuda_flush_l2(kernels::Stream) {
  no_cuda("cuda_flush_l2");
}
double cuda_copy_bandwidth_gbs(kernels::Stream) {
  no_cuda("cuda_copy_bandwidth_gbs");
}

}  // namespace gkd::device
