// Internal helpers for engine/ops_*.cpp and SparseMatrix::dropout: argument checks with uniform
// messages, and the launch of a kernel's CPU or CUDA twin. Not part of the public API.
#pragma once

#include <type_traits>

#include "engine/context.h"
#include "engine/error.h"
#include "engine/tensor.h"

namespace gkd::ops::detail {

// `t` is defined and lives on the context's device.
inline void check_on(const Context& ctx, const char* op, const char* name, const Tensor& t) {
  GKD_CHECK(t.defined(), "[", op, "] ", name, " is undefined");
  GKD_CHECK(t.device() == ctx.device(), "[", op, "] ", name, " is on ", device_name(t.device()),
            " but the context is ", device_name(ctx.device()));
}

inline void check_dtype(const char* op, const char* name, const Tensor& t, DType dtype) {
  GKD_CHECK(t.dtype() == dtype, "[", op, "] ", name, " is ", dtype_name(t.dtype()), " (expected ",
            dtype_name(dtype), ")");
}

inline void check_shape(const char* op, const char* name, const Tensor& t, int64_t rows,
                        int64_t cols) {
  GKD_CHECK(t.rows() == rows && t.cols() == cols, "[", op, "] ", name, " is [", t.rows(), ", ",
            t.cols(), "] (expected [", rows, ", ", cols, "])");
}

// t is [rows, cols] of `dtype` on the context's device.
inline void check_tensor(const Context& ctx, const char* op, const char* name, const Tensor& t,
                         int64_t rows, int64_t cols, DType dtype) {
  check_on(ctx, op, name, t);
  check_dtype(op, name, t, dtype);
  check_shape(op, name, t, rows, cols);
}

// Calls fn(T{}) with T = float or double for a floating dtype; f64 is CPU-only.
template <class Fn>
void dispatch_float(const Context& ctx, const char* op, DType dtype, Fn&& fn) {
  if (dtype == DType::kF32) {
    fn(float{});
  } else if (dtype == DType::kF64) {
    GKD_CHECK(!ctx.is_cuda(), "[", op, "] f64 runs on the CPU only (got f64 on a CUDA context)");
    fn(double{});
  } else {
    GKD_FAIL("[", op, "] dtype ", dtype_name(dtype), " (expected f32 or f64)");
  }
}

// Runs the CUDA twin on a CUDA context (float only; dispatch_float rejected f64 there), else the
// CPU twin.
template <class Args, class ArgsF>
void launch(const Context& ctx, const Args& args, void (*cpu)(const Args&),
            void (*cuda)(const ArgsF&, kernels::Stream)) {
  if constexpr (std::is_same_v<Args, ArgsF>) {
    if (ctx.is_cuda()) {
      cuda(args, ctx.stream());
      return;
    }
  }
  cpu(args);
}

}  // namespace gkd::ops::detail
