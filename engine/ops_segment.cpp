#include "engine/ops_segment.h"

#include <vector>

#include "engine/dispatch.h"
#include "kernels/registry.h"

namespace gkd::ops {

using namespace detail;

namespace {

const char* segment_name(kernels::SegmentOp op) {
  switch (op) {
    case kernels::SegmentOp::kSum:
      return "segment_sum";
    case kernels::SegmentOp::kMean:
      return "segment_mean";
    case kernels::SegmentOp::kMax:
      return "segment_max";
  }
  return "segment_reduce";
}

// offsets: i64 [B + 1, 1] with 0 = off[0] <= ... <= off[B] = rows. Copied to the host once to
// check (B + 1 values); returns B.
int64_t check_offsets(const Context& ctx, const char* op, const Tensor& offsets, int64_t rows) {
  check_on(ctx, op, "offsets", offsets);
  check_dtype(op, "offsets", offsets, DType::kI64);
  GKD_CHECK(offsets.cols() == 1 && offsets.rows() >= 1 && offsets.is_contiguous(), "[", op,
            "] offsets is [", offsets.rows(), ", ", offsets.cols(),
            "] (expected a contiguous [B + 1, 1] column)");
  const std::vector<int64_t> off = offsets.to(Device::kCPU).to_vector<int64_t>();
  GKD_CHECK(off.front() == 0, "[", op, "] offsets[0] is ", off.front(), " (expected 0)");
  for (size_t b = 1; b < off.size(); ++b) {
    GKD_CHECK(off[b] >= off[b - 1], "[", op, "] offsets decrease: offsets[", b, "] = ", off[b],
              " < offsets[", b - 1, "] = ", off[b - 1]);
  }
  GKD_CHECK(off.back() == rows, "[", op, "] offsets end at ", off.back(), " (expected ", rows,
            ", the rows of x)");
  return offsets.rows() - 1;
}

// index: i32 or i64 [M, 1] with every value in [0, limit), the rows of `target`.
void check_index(const Context& ctx, const char* op, const Tensor& index, int64_t limit,
                 const char* target) {
  check_on(ctx, op, "index", index);
  GKD_CHECK(index.dtype() == DType::kI32 || index.dtype() == DType::kI64, "[", op, "] index is ",
            dtype_name(index.dtype()), " (expected i32 or i64)");
  GKD_CHECK(index.cols() == 1 && index.is_contiguous(), "[", op, "] index is [", index.rows(), ", ",
            index.cols(), "] (expected a contiguous [M, 1] column)");
  const Tensor host = index.to(Device::kCPU).to_dtype(DType::kI64);
  const int64_t* values = host.data<int64_t>();
  for (int64_t i = 0; i < host.rows(); ++i) {
    GKD_CHECK(values[i] >= 0 && values[i] < limit, "[", op, "] index[", i, "] = ", values[i],
              " is outside [0, ", limit, "), the rows of ", target);
  }
}

// The typed pointer of an i64 / i32 index, null for the other type.
const int64_t* index64(const Tensor& index) {
  return index.dtype() == DType::kI64 ? index.data<int64_t>() : nullptr;
}
const int32_t* index32(const Tensor& index) {
  return index.dtype() == DType::kI32 ? index.data<int32_t>() : nullptr;
}

}  // namespace

void segment_reduce(const Context& ctx, kernels::SegmentOp op, const Tensor& offsets,
                    const Tensor& x, Tensor& y, Tensor* argmax, bool accumulate) {
  const char* name = segment_name(op);
  check_on(ctx, name, "x", x);
  const int64_t segments = check_offsets(ctx, name, offsets, x.rows());
  check_tensor(ctx, name, "y", y, segments, x.cols(), x.dtype());
  Tensor scratch;  // [B, F] i64: the kernel always writes the argmax of kMax
  if (op == kernels::SegmentOp::kMax) {
    Tensor& arg = argmax ? *argmax : scratch;
    if (!arg.defined()) arg = Tensor::empty(segments, x.cols(), DType::kI64, ctx.device());
    check_tensor(ctx, name, "argmax", arg, segments, x.cols(), DType::kI64);
    scratch = arg;  // shares storage with *argmax when given
  }
  dispatch_float(ctx, name, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::SegmentReduceArgs<T> a{
        .offsets = offsets.data<int64_t>(),
        .op = op,
        .x = x.cview<T>(),
        .y = y.view<T>(),
        .argmax = scratch.defined() ? scratch.view<int64_t>() : kernels::MatView<int64_t>{},
        .accumulate = accumulate};
    launch(ctx, a, kernels::cpu::segment_reduce<T>, kernels::cuda::segment_reduce);
  });
}

Tensor segment_reduce(const Context& ctx, kernels::SegmentOp op, const Tensor& offsets,
                      const Tensor& x, Tensor* argmax) {
  // [B, F]; a malformed offsets tensor is reported by the checks of the call below.
  Tensor y =
      Tensor::empty(std::max<int64_t>(offsets.rows() - 1, 0), x.cols(), x.dtype(), ctx.device());
  segment_reduce(ctx, op, offsets, x, y, argmax);
  return y;
}

void segment_reduce_backward(const Context& ctx, kernels::SegmentOp op, const Tensor& offsets,
                             const Tensor& dy, const Tensor& argmax, Tensor& dx, bool accumulate) {
  const char* name = segment_name(op);
  check_on(ctx, name, "dx", dx);
  const int64_t segments = check_offsets(ctx, name, offsets, dx.rows());
  check_tensor(ctx, name, "dy", dy, segments, dx.cols(), dx.dtype());
  if (op == kernels::SegmentOp::kMax) {
    check_tensor(ctx, name, "argmax", argmax, segments, dx.cols(), DType::kI64);
  }
  dispatch_float(ctx, name, dx.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::SegmentReduceBackwardArgs<T> a{.offsets = offsets.data<int64_t>(),
                                            .op = op,
                                            .dy = dy.cview<T>(),
                                            .argmax = op == kernels::SegmentOp::kMax
                                                          ? argmax.cview<int64_t>()
                                                          : kernels::ConstMatView<int64_t>{},
                                            .dx = dx.view<T>(),
                                            .accumulate = accumulate};
    launch(ctx, a, kernels::cpu::segment_reduce_backward<T>,
           kernels::cuda::segment_reduce_backward);
  });
}

void gather_rows(const Context& ctx, const Tensor& x, const Tensor& index, Tensor& y,
                 bool accumulate) {
  check_on(ctx, "gather_rows", "x", x);
  check_index(ctx, "gather_rows", index, x.rows(), "x");
  check_tensor(ctx, "gather_rows", "y", y, index.rows(), x.cols(), x.dtype());
  dispatch_float(ctx, "gather_rows", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::GatherRowsArgs<T> a{.index64 = index64(index),
                                 .index32 = index32(index),
                                 .x = x.cview<T>(),
                                 .y = y.view<T>(),
                                 .accumulate = accumulate};
    launch(ctx, a, kernels::cpu::gather_rows<T>, kernels::cuda::gather_rows);
  });
}

Tensor gather_rows(const Context& ctx, const Tensor& x, const Tensor& index) {
  Tensor y = Tensor::empty(index.rows(), x.cols(), x.dtype(), ctx.device());  // [M, F]
  gather_rows(ctx, x, index, y);
  return y;
}

void scatter_add_rows(const Context& ctx, const Tensor& x, const Tensor& index, Tensor& y,
                      bool accumulate) {
  check_on(ctx, "scatter_add_rows", "y", y);
  check_index(ctx, "scatter_add_rows", index, y.rows(), "y");
  check_tensor(ctx, "scatter_add_rows", "x", x, index.rows(), y.cols(), y.dtype());
  dispatch_float(ctx, "scatter_add_rows", x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::ScatterAddRowsArgs<T> a{.index64 = index64(index),
                                     .index32 = index32(index),
                                     .x = x.cview<T>(),
                                     .y = y.view<T>(),
                                     .accumulate = accumulate};
    launch(ctx, a, kernels::cpu::scatter_add_rows<T>, kernels::cuda::scatter_add_rows);
  });
}

Tensor scatter_add_rows(const Context& ctx, const Tensor& x, const Tensor& index, int64_t rows) {
  GKD_CHECK(rows >= 0, "[scatter_add_rows] rows is ", rows, " (expected >= 0)");
  Tensor y = Tensor::empty(rows, x.cols(), x.dtype(), ctx.device());  // [R, F]
  scatter_add_rows(ctx, x, index, y);
  return y;
}

}  // namespace gkd::ops
