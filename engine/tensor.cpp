#include "engine/tensor.h"

#include <cstring>

#include "engine/allocator.h"
#include "engine/device.h"
#include "engine/error.h"
#include "kernels/registry.h"

namespace gkd {

struct Tensor::Storage {
  void* ptr = nullptr;
  size_t bytes = 0;
  Device device = Device::kCPU;

  Storage(size_t n, Device d) : bytes(n), device(d) {
    ptr = d == Device::kCPU ? host_allocate(n) : cuda_allocator().allocate(n);
  }
  ~Storage() {
    if (device == Device::kCPU) {
      host_free(ptr);
    } else {
      cuda_allocator().deallocate(ptr);
    }
  }
};

Tensor Tensor::empty(int64_t rows, int64_t cols, DType dtype, Device device) {
  GKD_CHECK(rows >= 0 && cols >= 0, "[Tensor::empty] negative shape [", rows, ", ", cols, "]");
  Tensor t;
  t.storage_ =
      std::make_shared<Storage>(static_cast<size_t>(rows * cols) * dtype_size(dtype), device);
  t.rows_ = rows;
  t.cols_ = cols;
  t.ld_ = cols;
  t.dtype_ = dtype;
  t.device_ = device;
  return t;
}

Tensor Tensor::zeros(int64_t rows, int64_t cols, DType dtype, Device device) {
  Tensor t = empty(rows, cols, dtype, device);
  t.zero();
  return t;
}

Tensor Tensor::full(int64_t rows, int64_t cols, double value, DType dtype, Device device) {
  Tensor t = empty(rows, cols, dtype, device);
  t.fill(value);
  return t;
}

template <class T>
Tensor Tensor::from_vector(int64_t rows, int64_t cols, const std::vector<T>& values) {
  GKD_CHECK(static_cast<int64_t>(values.size()) == rows * cols, "[Tensor::from_vector] got ",
            values.size(), " values for shape [", rows, ", ", cols, "]");
  Tensor t = empty(rows, cols, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined tensor";
  return detail::message("[", rows_, ", ", cols_, "] ", dtype_name(dtype_), " ",
                         device_name(device_));
}

template <class T>
T* Tensor::data() {
  GKD_CHECK(defined(), "[Tensor::data] tensor is undefined");
  GKD_CHECK(dtype_ == dtype_of<T>(), "[Tensor::data] tensor is ", dtype_name(dtype_),
            ", accessed as ", dtype_name(dtype_of<T>()));
  return static_cast<T*>(storage_->ptr) + offset_;
}

template <class T>
const T* Tensor::data() const {
  return const_cast<Tensor*>(this)->data<T>();
}

void* Tensor::raw_data() {
  GKD_CHECK(defined(), "[Tensor::raw_data] tensor is undefined");
  return static_cast<char*>(storage_->ptr) + offset_ * dtype_size(dtype_);
}

const void* Tensor::raw_data() const {
  return const_cast<Tensor*>(this)->raw_data();
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  GKD_CHECK(0 <= begin && begin <= end && end <= rows_, "[Tensor::slice_rows] rows [", begin, ", ",
            end, ") out of range for ", describe());
  Tensor t = *this;
  t.offset_ = offset_ + begin * ld_;
  t.rows_ = end - begin;
  return t;
}

Tensor Tensor::slice_cols(int64_t begin, int64_t end) const {
  GKD_CHECK(0 <= begin && begin <= end && end <= cols_, "[Tensor::slice_cols] columns [", begin,
            ", ", end, ") out of range for ", describe());
  Tensor t = *this;
  t.offset_ = offset_ + begin;
  t.cols_ = end - begin;
  return t;
}

Tensor Tensor::reshape(int64_t rows, int64_t cols) const {
  GKD_CHECK(is_contiguous(), "[Tensor::reshape] ", describe(), " is a strided view");
  GKD_CHECK(rows * cols == numel(), "[Tensor::reshape] cannot view ", describe(), " as [", rows,
            ", ", cols, "]");
  Tensor t = *this;
  t.rows_ = rows;
  t.cols_ = cols;
  t.ld_ = cols;
  return t;
}

void Tensor::copy_from(const Tensor& src) {
  GKD_CHECK(same_shape(src) && dtype_ == src.dtype_, "[Tensor::copy_from] cannot copy ",
            src.describe(), " into ", describe());
  const size_t es = dtype_size(dtype_);
  const size_t row_bytes = static_cast<size_t>(cols_) * es;
  if (numel() == 0) return;
  if (device_ == Device::kCPU && src.device_ == Device::kCPU) {
    if (ld_ == cols_ && src.ld_ == cols_) {  // both contiguous: one move
      std::memmove(raw_data(), src.raw_data(), row_bytes * static_cast<size_t>(rows_));
      return;
    }
    for (int64_t i = 0; i < rows_; ++i) {
      std::memmove(static_cast<char*>(raw_data()) + i * ld_ * es,
                   static_cast<const char*>(src.raw_data()) + i * src.ld_ * es, row_bytes);
    }
    return;
  }
  const device::CopyKind kind = src.device_ == Device::kCPU ? device::CopyKind::kHostToDevice
                                : device_ == Device::kCPU   ? device::CopyKind::kDeviceToHost
                                                            : device::CopyKind::kDeviceToDevice;
  device::cuda_copy_2d(raw_data(), ld_ * es, src.raw_data(), src.ld_ * es, row_bytes, rows_, kind);
}

Tensor Tensor::to(Device device) const {
  if (device == device_) return *this;
  Tensor t = empty(rows_, cols_, dtype_, device);
  t.copy_from(*this);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(rows_, cols_, dtype_, device_);
  t.copy_from(*this);
  return t;
}

namespace {
template <class To>
void convert_row(To* dst, const void* src, DType from, int64_t n) {
  switch (from) {
    case DType::kF32:
      for (int64_t j = 0; j < n; ++j) dst[j] = static_cast<To>(static_cast<const float*>(src)[j]);
      break;
    case DType::kF64:
      for (int64_t j = 0; j < n; ++j) dst[j] = static_cast<To>(static_cast<const double*>(src)[j]);
      break;
    case DType::kI32:
      for (int64_t j = 0; j < n; ++j) dst[j] = static_cast<To>(static_cast<const int32_t*>(src)[j]);
      break;
    case DType::kI64:
      for (int64_t j = 0; j < n; ++j) dst[j] = static_cast<To>(static_cast<const int64_t*>(src)[j]);
      break;
    case DType::kU8:
      for (int64_t j = 0; j < n; ++j) dst[j] = static_cast<To>(static_cast<const uint8_t*>(src)[j]);
      break;
  }
}

// n elements of type `from` at src into type `to` at dst.
void convert_run(void* dst, DType to, const void* src, DType from, int64_t n) {
  switch (to) {
    case DType::kF32:
      return convert_row(static_cast<float*>(dst), src, from, n);
    case DType::kF64:
      return convert_row(static_cast<double*>(dst), src, from, n);
    case DType::kI32:
      return convert_row(static_cast<int32_t*>(dst), src, from, n);
    case DType::kI64:
      return convert_row(static_cast<int64_t*>(dst), src, from, n);
    case DType::kU8:
      return convert_row(static_cast<uint8_t*>(dst), src, from, n);
  }
}
}  // namespace

Tensor Tensor::to_dtype(DType dtype) const {
  GKD_CHECK(device_ == Device::kCPU, "[Tensor::to_dtype] ", describe(),
            " must be on the CPU (move it with to(Device::kCPU) first)");
  if (dtype == dtype_) return clone();
  Tensor t = empty(rows_, cols_, dtype);
  if (numel() == 0) return t;
  // A contiguous tensor is one run; a strided view, one run per row.
  const bool contiguous = ld_ == cols_;
  const int64_t runs = contiguous ? 1 : rows_, run = contiguous ? rows_ * cols_ : cols_;
  const size_t in_size = dtype_size(dtype_), out_size = dtype_size(dtype);
  const char* src = static_cast<const char*>(raw_data());
  char* dst = static_cast<char*>(t.raw_data());
  for (int64_t i = 0; i < runs; ++i) {
    convert_run(dst + i * run * out_size, dtype, src + i * ld_ * in_size, dtype_, run);
  }
  return t;
}

void Tensor::fill(double value) {
  GKD_CHECK(is_floating(dtype_), "[Tensor::fill] ", describe(), " is not floating point");
  if (dtype_ == DType::kF64) {
    GKD_CHECK(device_ == Device::kCPU, "[Tensor::fill] f64 tensors live on the CPU only");
    kernels::cpu::fill<double>({view<double>(), value});
  } else if (device_ == Device::kCPU) {
    kernels::cpu::fill<float>({view<float>(), static_cast<float>(value)});
  } else {
    // Default stream: it orders with every Context stream (they are blocking streams).
    kernels::cuda::fill({view<float>(), static_cast<float>(value)}, kernels::Stream{});
  }
}

void Tensor::zero() {
  if (numel() == 0) return;
  const size_t es = dtype_size(dtype_);
  if (device_ == Device::kCPU) {
    for (int64_t i = 0; i < rows_; ++i) {
      std::memset(static_cast<char*>(raw_data()) + i * ld_ * es, 0, cols_ * es);
    }
  } else {
    device::cuda_zero_2d(raw_data(), ld_ * es, cols_ * es, rows_);
  }
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  GKD_CHECK(dtype_ == dtype_of<T>(), "[Tensor::to_vector] tensor is ", dtype_name(dtype_),
            ", requested ", dtype_name(dtype_of<T>()));
  std::vector<T> out(static_cast<size_t>(numel()));
  if (out.empty()) return out;
  if (device_ == Device::kCPU && ld_ == cols_) {
    std::memcpy(out.data(), raw_data(), out.size() * sizeof(T));
    return out;
  }
  Tensor host = Tensor::from_vector<T>(rows_, cols_, out);  // contiguous CPU destination
  host.copy_from(*this);
  std::memcpy(out.data(), host.raw_data(), out.size() * sizeof(T));
  return out;
}

template <class T>
T Tensor::item() const {
  GKD_CHECK(rows_ == 1 && cols_ == 1, "[Tensor::item] ", describe(), " is not a [1, 1] tensor");
  return to_vector<T>()[0];
}

#define GKD_TENSOR_INSTANTIATE(T)                                                  \
  template Tensor Tensor::from_vector<T>(int64_t, int64_t, const std::vector<T>&); \
  template T* Tensor::data<T>();                                                   \
  template const T* Tensor::data<T>() const;                                       \
  template std::vector<T> Tensor::to_vector<T>() const;                            \
  template T Tensor::item<T>() const;
GKD_TENSOR_INSTANTIATE(float)
GKD_TENSOR_INSTANTIATE(double)
GKD_TENSOR_INSTANTIATE(int32_t)
GKD_TENSOR_INSTANTIATE(int64_t)
GKD_TENSOR_INSTANTIATE(uint8_t)
#undef GKD_TENSOR_INSTANTIATE

Tensor concat_rows(const std::vector<const Tensor*>& parts) {
  GKD_CHECK(!parts.empty(), "[concat_rows] no tensors given");
  const Tensor& first = *parts.front();
  int64_t rows = 0;
  for (const Tensor* t : parts) {
    GKD_CHECK(t->cols() == first.cols() && t->dtype() == first.dtype(), "[concat_rows] ",
              t->describe(), " does not stack under ", first.describe(),
              " (expected the same width and dtype)");
    rows += t->rows();
  }
  Tensor out = Tensor::empty(rows, first.cols(), first.dtype());
  int64_t at = 0;
  for (const Tensor* t : parts) {
    if (t->rows() > 0) out.slice_rows(at, at + t->rows()).copy_from(*t);
    at += t->rows();
  }
  return out;
}

}  // namespace gkd
