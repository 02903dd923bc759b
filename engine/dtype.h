// Element types and devices. F64 exists for the CPU reference and gradient checks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gkd {

enum class DType { kF32, kF64, kI32, kI64, kU8 };
enum class Device { kCPU, kCUDA };

size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);     // "f32", "f64", "i32", "i64", "u8"
std::string_view device_name(Device device);  // "cpu", "cuda"
inline bool is_floating(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF64;
}

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::kF32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::kF64;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::kI32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::kI64;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::kU8;
}

}  // namespace gkd
