// Segment reductions over contiguous row ranges (graph readout of a block-diagonal batch) and row
// gather / scatter-add by an index vector.
//
//   segment_reduce:          y[b, j] (+)= sum | mean | max of x[i, j] over i in [off[b], off[b+1]);
//                            empty segments give 0; max also writes argmax[b, j] (the first row
//                            reaching the max; -1 for an empty segment).
//                            Bytes: N*F*4 read + B*F*4 (+ B*F*8 argmax); FLOPs: N*F.
//   segment_reduce_backward: dx[i, j] (+)= dy[b, j] (sum), dy[b, j] / len_b (mean),
//                            [i == argmax[b, j]] dy[b, j] (max), for the segment b holding row i.
//                            Bytes: N*F*4 written + B*F*4 (+ B*F*8) read; FLOPs: N*F.
//   gather_rows:             y[i, :] (+)= x[idx[i], :].          Bytes: 2*M*F*4 + M*4|8; FLOPs: 0.
//   scatter_add_rows:        y[r, :] (+)= Σ_{i : idx[i] = r} x[i, :], summed in increasing i
//                            (the CPU twin builds the inverse index, so it is row-parallel and
//                            deterministic). Bytes: M*F*4 + R*F*4 + M*4|8; FLOPs: M*F.
// Offsets satisfy 0 = off[0] <= ... <= off[B] = N and indices lie in [0, rows of the indexed
// matrix); engine/ops_segment.h validates both.
#pragma once

#include "kernels/common.h"

namespace gkd::kernels {

enum class SegmentOp { kSum, kMean, kMax };

template <class T>
struct SegmentReduceArgs {
  const int64_t* offsets;  // [B + 1] segment boundaries over the rows of x
  SegmentOp op;
  ConstMatView<T> x;        // [N, F]
  MatView<T> y;             // [B, F]; overwritten or accumulated
  MatView<int64_t> argmax;  // [B, F] written for kMax (data may be null otherwise)
  bool accumulate;
};

template <class T>
struct SegmentReduceBackwardArgs {
  const int64_t* offsets;  // [B + 1] as in the forward
  SegmentOp op;
  ConstMatView<T> dy;            // [B, F] gradient of y
  ConstMatView<int64_t> argmax;  // [B, F] from the forward (kMax only)
  MatView<T> dx;                 // [N, F]; overwritten or accumulated
  bool accumulate;
};

// Exactly one of index64 / index32 is set.
template <class T>
struct GatherRowsArgs {
  const int64_t* index64;  // [M] rows of x to read, or null
  const int32_t* index32;  // [M] rows of x to read, or null
  ConstMatView<T> x;       // [N, F]
  MatView<T> y;            // [M, F]; overwritten or accumulated
  bool accumulate;
};

template <class T>
struct ScatterAddRowsArgs {
  const int64_t* index64;  // [M] target row of each row of x, or null
  const int32_t* index32;  // [M] target row of each row of x, or null
  ConstMatView<T> x;       // [M, F]
  MatView<T> y;            // [R, F]; overwritten (untouched rows get 0) or accumulated
  bool accumulate;
};

}  // namespace gkd::kernels
