// Tensor: a dense, row-major matrix (rank <= 2: vectors are [n, 1]) of one dtype on one device.
// Storage is reference counted; row and column slices are views sharing it (leading dimension
// ld >= cols). Rank 2 keeps every kernel signature explicit: features [N, F], weights
// [F_in, F_out], edge values [E, H].
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/dtype.h"
#include "kernels/common.h"

namespace gkd {

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() == false

  static Tensor empty(int64_t rows, int64_t cols, DType dtype, Device device = Device::kCPU);
  static Tensor zeros(int64_t rows, int64_t cols, DType dtype, Device device = Device::kCPU);
  static Tensor full(int64_t rows, int64_t cols, double value, DType dtype,
                     Device device = Device::kCPU);
  // A CPU tensor holding `values` (row-major, rows * cols of them).
  template <class T>
  static Tensor from_vector(int64_t rows, int64_t cols, const std::vector<T>& values);

  bool defined() const { return storage_ != nullptr; }
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t ld() const { return ld_; }
  int64_t numel() const { return rows_ * cols_; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool is_contiguous() const { return ld_ == cols_ || rows_ <= 1; }
  bool same_shape(const Tensor& other) const {
    return rows_ == other.rows_ && cols_ == other.cols_;
  }
  std::string describe() const;  // "[2708, 16] f32 cpu"

  template <class T>
  T* data();
  template <class T>
  const T* data() const;
  void* raw_data();
  const void* raw_data() const;

  template <class T>
  kernels::MatView<T> view() {
    return {data<T>(), rows_, cols_, ld_};
  }
  template <class T>
  kernels::ConstMatView<T> cview() const {
    return {data<T>(), rows_, cols_, ld_};
  }

  // Views sharing storage.
  Tensor slice_rows(int64_t begin, int64_t end) const;
  Tensor slice_cols(int64_t begin, int64_t end) const;
  Tensor reshape(int64_t rows, int64_t cols) const;  // contiguous tensors only

  // Copies. to() returns *this (shared) when already on `device`.
  Tensor to(Device device) const;
  Tensor clone() const;                // contiguous deep copy on the same device
  Tensor to_dtype(DType dtype) const;  // CPU only; converts between any two dtypes
  void copy_from(const Tensor& src);   // same shape and dtype, any pair of devices
  void fill(double value);             // floating dtypes
  void zero();                         // any dtype

  // Host copy, contiguous row-major.
  template <class T>
  std::vector<T> to_vector() const;
  template <class T>
  T item() const;  // the single element of a [1, 1] tensor

 private:
  struct Storage;
  std::shared_ptr<Storage> storage_;
  int64_t offset_ = 0;  // in elements
  int64_t rows_ = 0, cols_ = 0, ld_ = 0;
  DType dtype_ = DType::kF32;
  Device device_ = Device::kCPU;
};

// The rows of `parts` (one width and dtype, any devices, at least one part) stacked in order into
// one contiguous CPU tensor (batching samples of a dataset).
Tensor concat_rows(const std::vector<const Tensor*>& parts);

}  // namespace gkd
