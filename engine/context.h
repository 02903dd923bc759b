// Context: where ops run. CPU, or one CUDA device with its stream, cuBLAS/cuSPARSE handles (created
// lazily: on GPU-less machines handle creation fails the same way the device probe does) and a
// growable workspace. Passed explicitly; there is no global current device.
#pragma once

#include <memory>
#include <string>

#include "engine/dtype.h"
#include "kernels/common.h"

struct cublasContext;
struct cusparseContext;

namespace gkd {

class Context {
 public:
  static Context cpu();
  static Context cuda();         // throws gkd::Error naming the reason when no device is usable
  static Context auto_select();  // CUDA when compiled in and a device is usable, else CPU

  Device device() const { return device_; }
  bool is_cuda() const { return device_ == Device::kCUDA; }
  kernels::Stream stream() const;
  cublasContext* cublas() const;
  cusparseContext* cusparse() const;
  // Scratch memory on the context's device, valid until the next call (grows, never shrinks).
  void* workspace(size_t bytes) const;
  void synchronize() const;      // waits for the stream; no-op on CPU
  std::string describe() const;  // "cpu" or "cuda:0 (NVIDIA H100 ...)"

 private:
  struct CudaState;
  explicit Context(Device device);
  Device device_;
  std::shared_ptr<CudaState> cuda_;  // shared: copies of a Context share stream and handles
};

}  // namespace gkd
