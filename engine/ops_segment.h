// Tensor-level segment reductions (graph readout over node ranges) and row gather / scatter:
// validate once, then run a kernel twin.
#pragma once

#include "engine/context.h"
#include "engine/tensor.h"
#include "kernels/segment.h"

namespace gkd::ops {

// y[b, :] (+)= sum | mean | max of x rows [off[b], off[b+1]); offsets: i64 [B + 1, 1] with
// 0 = off[0] <= ... <= off[B] = x.rows (Graph::node_offsets_tensor()); x: [N, F]; y: [B, F].
// For kMax, *argmax (i64 [B, F], allocated when undefined) receives the first row reaching the
// max (-1 for an empty segment); argmax may be null when the caller does not need it.
void segment_reduce(const Context& ctx, kernels::SegmentOp op, const Tensor& offsets,
                    const Tensor& x, Tensor& y, Tensor* argmax = nullptr, bool accumulate = false);
Tensor segment_reduce(const Context& ctx, kernels::SegmentOp op, const Tensor& offsets,
                      const Tensor& x, Tensor* argmax = nullptr);
// dx (+)= the gradient of segment_reduce for dy: [B, F]; dx: [N, F]; argmax as written by kMax.
void segment_reduce_backward(const Context& ctx, kernels::SegmentOp op, const Tensor& offsets,
                             const Tensor& dy, const Tensor& argmax, Tensor& dx,
                             bool accumulate = false);

// y[i, :] (+)= x[index[i], :]. index: i32 or i64 [M, 1] with values in [0, x.rows); y: [M, F].
void gather_rows(const Context& ctx, const Tensor& x, const Tensor& index, Tensor& y,
                 bool accumulate = false);
Tensor gather_rows(const Context& ctx, const Tensor& x, const Tensor& index);
// y[index[i], :] (+)= x[i, :]. index: i32 or i64 [M, 1] with values in [0, y.rows); x: [M, F].
void scatter_add_rows(const Context& ctx, const Tensor& x, const Tensor& index, Tensor& y,
                      bool accumulate = false);
Tensor scatter_add_rows(const Context& ctx, const Tensor& x, const Tensor& index, int64_t rows);

}  // namespace gkd::ops
