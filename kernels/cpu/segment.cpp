// CPU twins of the segment reductions and row gather / scatter-add: every output row has one
// writer (segments in parallel; scatter through an inverse index), sums in double in row order.
#include <algorithm>
#include <vector>

#include "kernels/registry.h"

namespace gkd::kernels::cpu {

namespace {

template <class T>
void write(T& out, double value, bool accumulate) {
  out = static_cast<T>(accumulate ? out + value : value);
}

template <class Args>
int64_t row_of(const Args& a, int64_t i) {
  return a.index64 ? a.index64[i] : static_cast<int64_t>(a.index32[i]);
}

}  // namespace

template <class T>
void segment_reduce(const SegmentReduceArgs<T>& a) {
  const int64_t width = a.x.cols;
#pragma omp parallel
  {
    std::vector<double> acc(width);
#pragma omp for schedule(dynamic, 16)
    for (int64_t b = 0; b < a.y.rows; ++b) {
      const int64_t begin = a.offsets[b], end = a.offsets[b + 1];
      for (int64_t j = 0; j < width; ++j) {
        if (a.op == SegmentOp::kMax) {
          int64_t arg = -1;
          for (int64_t i = begin; i < end; ++i)
            if (arg < 0 || a.x(i, j) > a.x(arg, j)) arg = i;  // strict: ties keep the first row
          acc[j] = arg < 0 ? 0.0 : double(a.x(arg, j));
          a.argmax(b, j) = arg;
        } else {
          double s = 0;
          for (int64_t i = begin; i < end; ++i) s += a.x(i, j);
          acc[j] = a.op == SegmentOp::kMean && end > begin ? s / double(end - begin) : s;
        }
      }
      for (int64_t j = 0; j < width; ++j) write(a.y(b, j), acc[j], a.accumulate);
    }
  }
}

template <class T>
void segment_reduce_backward(const SegmentReduceBackwardArgs<T>& a) {
  const int64_t width = a.dx.cols;
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t b = 0; b < a.dy.rows; ++b) {
    const int64_t begin = a.offsets[b], end = a.offsets[b + 1];
    const double scale = a.op == SegmentOp::kMean ? 1.0 / double(end - begin) : 1.0;
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t j = 0; j < width; ++j) {
        const double g = a.op == SegmentOp::kMax ? (a.argmax(b, j) == i ? double(a.dy(b, j)) : 0.0)
                                                 : scale * a.dy(b, j);
        write(a.dx(i, j), g, a.accumulate);
      }
    }
  }
}

template <class T>
void gather_rows(const GatherRowsArgs<T>& a) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < a.y.rows; ++i) {
    const int64_t r = row_of(a, i);
    for (int64_t j = 0; j < a.y.cols; ++j) write(a.y(i, j), double(a.x(r, j)), a.accumulate);
  }
}

template <class T>
void scatter_add_rows(const ScatterAddRowsArgs<T>& a) {
  // Inverse index by a stable counting sort: sources of target row r are order[start[r]..], in
  // increasing i, so each target row is summed by one thread in a fixed order.
  const int64_t m = a.x.rows, rows = a.y.rows, width = a.y.cols;
  std::vector<int64_t> start(rows + 1, 0), order(m);
  for (int64_t i = 0; i < m; ++i) ++start[row_of(a, i) + 1];
  for (int64_t r = 0; r < rows; ++r) start[r + 1] += start[r];
  std::vector<int64_t> next(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < m; ++i) order[next[row_of(a, i)]++] = i;
#pragma omp parallel
  {
    std::vector<double> acc(width);
#pragma omp for schedule(dynamic, 64)
    for (int64_t r = 0; r < rows; ++r) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t k = start[r]; k < start[r + 1]; ++k)
        for (int64_t j = 0; j < width; ++j) acc[j] += a.x(order[k], j);
      for (int64_t j = 0; j < width; ++j) write(a.y(r, j), acc[j], a.accumulate);
    }
  }
}

#define GKD_INSTANTIATE(name, Args)              \
  template void name<float>(const Args<float>&); \
  template void name<double>(const Args<double>&);
GKD_INSTANTIATE(segment_reduce, SegmentReduceArgs)
GKD_INSTANTIATE(segment_reduce_backward, SegmentReduceBackwardArgs)
GKD_INSTANTIATE(gather_rows, GatherRowsArgs)
GKD_INSTANTIATE(scatter_add_rows, ScatterAddRowsArgs)
#undef GKD_INSTANTIATE

}  // namespace gkd::kernels::cpu
