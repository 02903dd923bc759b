#include "engine/context.h"

#include <mutex>

#include "engine/allocator.h"
#include "engine/device.h"
#include "engine/error.h"

namespace gkd {

struct Context::CudaState {
  kernels::Stream stream{};
  mutable std::mutex mutex;
  mutable cublasContext* cublas = nullptr;
  mutable cusparseContext* cusparse = nullptr;
  mutable void* workspace = nullptr;
  mutable size_t workspace_bytes = 0;

  ~CudaState() {
    device::cublas_destroy(cublas);
    device::cusparse_destroy(cusparse);
    if (workspace) cuda_allocator().deallocate(workspace);
    device::cuda_stream_destroy(stream);
  }
};

Context::Context(Device device) : device_(device) {}

Context Context::cpu() {
  return Context(Device::kCPU);
}

Context Context::cuda() {
  std::string why;
  GKD_CHECK(device::cuda_device_count(&why) > 0, "[Context::cuda] no usable CUDA device (", why,
            ")");
  Context ctx(Device::kCUDA);
  ctx.cuda_ = std::make_shared<CudaState>();
  ctx.cuda_->stream = device::cuda_stream_create();
  return ctx;
}

Context Context::auto_select() {
  std::string why;
  if (device::cuda_compiled() && device::cuda_device_count(&why) > 0) return cuda();
  if (device::cuda_compiled()) {
    log(LogLevel::kInfo, "CUDA backend compiled but no usable device (" + why + "): using CPU");
  }
  return cpu();
}

kernels::Stream Context::stream() const {
  return cuda_ ? cuda_->stream : kernels::Stream{};
}

cublasContext* Context::cublas() const {
  GKD_CHECK(cuda_ != nullptr, "[Context::cublas] a CPU context has no cuBLAS handle");
  std::lock_guard<std::mutex> lock(cuda_->mutex);
  if (!cuda_->cublas) cuda_->cublas = device::cublas_create(cuda_->stream);
  return cuda_->cublas;
}

cusparseContext* Context::cusparse() const {
  GKD_CHECK(cuda_ != nullptr, "[Context::cusparse] a CPU context has no cuSPARSE handle");
  std::lock_guard<std::mutex> lock(cuda_->mutex);
  if (!cuda_->cusparse) cuda_->cusparse = device::cusparse_create(cuda_->stream);
  return cuda_->cusparse;
}

void* Context::workspace(size_t bytes) const {
  GKD_CHECK(cuda_ != nullptr, "[Context::workspace] only CUDA contexts carry a workspace");
  std::lock_guard<std::mutex> lock(cuda_->mutex);
  if (bytes > cuda_->workspace_bytes) {
    // Stream order keeps this safe: kernels that used the old block were enqueued before.
    if (cuda_->workspace) cuda_allocator().deallocate(cuda_->workspace);
    cuda_->workspace = cuda_allocator().allocate(bytes);
    cuda_->workspace_bytes = bytes;
  }
  return cuda_->workspace;
}

void Context::synchronize() const {
  if (cuda_) device::cuda_synchronize(cuda_->stream);
}

std::string Context::describe() const {
  if (!is_cuda()) return "cpu";
  return "cuda:0 (" + device::cuda_device_name() + ")";
}

}  // namespace gkd
