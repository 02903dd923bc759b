// Segment reductions and row gather / scatter-add CPU twins against dense formulations in double:
// a B x N membership matrix for sum and mean, per-block column maxima for max, and an M x N
// selection matrix S (y = S x gathers, y = Sᵀ x scatter-adds).
#include <doctest/doctest.h>

#include <cmath>

#include "engine/context.h"
#include "engine/error.h"
#include "engine/ops_graph.h"
#include "engine/ops_segment.h"
#include "kernels/philox.h"
#include "tests/support/checks.h"

using namespace gkd;
using gkd::kernels::SegmentOp;
using gkd::test::to_eigen;

namespace {

Tensor column_i64(const std::vector<int64_t>& off) {
  return Tensor::from_vector<int64_t>(static_cast<int64_t>(off.size()), 1, off);
}

// Distinct values (at most 1000 of them: integers plus distinct thousandths, distinct in f32),
// so every max and its row are unique.
Tensor distinct_tensor(int64_t rows, int64_t cols, DType dtype, uint64_t seed) {
  const Tensor r = test::random_tensor(rows, cols, DType::kF64, seed);
  std::vector<double> v = r.to_vector<double>();
  for (size_t k = 0; k < v.size(); ++k) v[k] = std::floor(v[k] * 100) + 1e-3 * double(k);
  return Tensor::from_vector<double>(rows, cols, v).to_dtype(dtype);
}

}  // namespace

TEST_CASE("reference: segment_reduce and segment_reduce_backward equal the dense formulation") {
  const Context ctx = Context::cpu();
  // Batches with an empty segment, a single segment, one row per segment, and a readout batch.
  const Graph batch = Graph::batch(
      {test::tiny_directed(), Graph::from_edges(1, {0}, {0}), test::random_graph(40, 2.0, 3)});
  const std::vector<std::vector<int64_t>> cases = {
      {0, 3, 3, 7, 12}, {0, 9}, {0, 1, 2, 3}, {0, 0}, batch.node_offsets()};
  for (const auto& off : cases) {
    const int64_t n = off.back(), b_count = static_cast<int64_t>(off.size()) - 1;
    const Tensor offsets = column_i64(off);
    for (DType dtype : {DType::kF64, DType::kF32}) {
      for (int64_t f : {1, 6}) {
        const uint64_t seed = test::fresh_seed();
        CAPTURE(n);
        CAPTURE(b_count);
        CAPTURE(f);
        CAPTURE(seed);
        const Tensor x = distinct_tensor(n, f, dtype, seed);
        const Tensor dy = test::random_tensor(b_count, f, dtype, seed + 1);
        const Eigen::MatrixXd xd = to_eigen(x), dyd = to_eigen(dy);
        Eigen::MatrixXd sum_m = Eigen::MatrixXd::Zero(b_count, n), mean_m = sum_m;
        Eigen::MatrixXd max_y = Eigen::MatrixXd::Zero(b_count, f);
        Eigen::MatrixXd max_dx = Eigen::MatrixXd::Zero(n, f);
        std::vector<int64_t> arg(b_count * f, -1);
        for (int64_t b = 0; b < b_count; ++b) {
          const int64_t len = off[b + 1] - off[b];
          sum_m.block(b, off[b], 1, len).setOnes();
          mean_m.block(b, off[b], 1, len).setConstant(1.0 / double(len));
          for (int64_t j = 0; j < f && len > 0; ++j) {
            Eigen::Index i;
            max_y(b, j) = xd.col(j).segment(off[b], len).maxCoeff(&i);
            arg[b * f + j] = off[b] + i;
            max_dx(off[b] + i, j) = dyd(b, j);
          }
        }
        for (const auto& op_m :
             {std::pair{SegmentOp::kSum, sum_m}, std::pair{SegmentOp::kMean, mean_m}}) {
          const SegmentOp op = op_m.first;
          const auto& m = op_m.second;
          CAPTURE(static_cast<int>(op));
          test::check_write_modes(
              [&](Tensor& y, bool acc) {
                ops::segment_reduce(ctx, op, offsets, x, y, nullptr, acc);
              },
              m * xd, dtype, seed + 2);
          test::check_write_modes(
              [&](Tensor& dx, bool acc) {
                ops::segment_reduce_backward(ctx, op, offsets, dy, Tensor(), dx, acc);
              },
              m.transpose() * dyd, dtype, seed + 3);
        }
        Tensor argmax;
        test::check_write_modes(
            [&](Tensor& y, bool acc) {
              ops::segment_reduce(ctx, SegmentOp::kMax, offsets, x, y, &argmax, acc);
            },
            max_y, dtype, seed + 4);
        CHECK(argmax.to_vector<int64_t>() == arg);
        test::check_write_modes(
            [&](Tensor& dx, bool acc) {
              ops::segment_reduce_backward(ctx, SegmentOp::kMax, offsets, dy, argmax, dx, acc);
            },
            max_dx, dtype, seed + 5);
      }
    }
  }
}

TEST_CASE("reference: segment_reduce max breaks ties by the first row") {
  const Context ctx = Context::cpu();
  const Tensor offsets = column_i64({0, 4, 4});
  const Tensor x = Tensor::from_vector<double>(4, 2, {1, 5, 3, 5, 3, 2, -1, 5});
  Tensor argmax;
  const Tensor y = ops::segment_reduce(ctx, SegmentOp::kMax, offsets, x, &argmax);
  CHECK(y.to_vector<double>() == std::vector<double>{3, 5, 0, 0});
  CHECK(argmax.to_vector<int64_t>() == std::vector<int64_t>{1, 0, -1, -1});
}

TEST_CASE("reference: gather_rows and scatter_add_rows equal the selection-matrix products") {
  const Context ctx = Context::cpu();
  for (DType index_type : {DType::kI32, DType::kI64}) {
    for (DType dtype : {DType::kF64, DType::kF32}) {
      for (int64_t m : {0, 1, 50, 3000}) {  // 3000: many repeats per row
        const uint64_t seed = test::fresh_seed();
        CAPTURE(m);
        CAPTURE(seed);
        const int64_t n = 23, f = 5;
        std::vector<int64_t> idx(m);
        for (int64_t i = 0; i < m; ++i) idx[i] = kernels::philox_bits(seed, 3, i) % n;
        if (m > 0) idx[0] = n - 1;  // the last row is always reachable
        const Tensor index = column_i64(idx).to_dtype(index_type);
        Eigen::MatrixXd s = Eigen::MatrixXd::Zero(m, n);  // S(i, idx[i]) = 1
        for (int64_t i = 0; i < m; ++i) s(i, idx[i]) = 1;
        const Tensor x = test::random_tensor(n, f, dtype, seed);
        const Tensor xm = test::random_tensor(m, f, dtype, seed + 1);
        test::check_write_modes(
            [&](Tensor& y, bool acc) { ops::gather_rows(ctx, x, index, y, acc); }, s * to_eigen(x),
            dtype, seed + 2);
        test::check_write_modes(
            [&](Tensor& y, bool acc) { ops::scatter_add_rows(ctx, xm, index, y, acc); },
            s.transpose() * to_eigen(xm), dtype, seed + 3);
      }
    }
  }
}

TEST_CASE("reference: segment and gather/scatter ops reject bad offsets and indices") {
  const Context ctx = Context::cpu();
  const Tensor x = Tensor::zeros(7, 3, DType::kF32);
  auto reduce = [&](const std::vector<int64_t>& off) {
    return ops::segment_reduce(ctx, SegmentOp::kSum, column_i64(off), x);
  };
  CHECK_THROWS_WITH_AS(reduce({0, 5, 3, 7}),
                       "[segment_sum] offsets decrease: offsets[2] = 3 < offsets[1] = 5", Error);
  CHECK_THROWS_WITH_AS(reduce({1, 7}), "[segment_sum] offsets[0] is 1 (expected 0)", Error);
  CHECK_THROWS_WITH_AS(
      ops::segment_reduce(ctx, SegmentOp::kSum, Tensor::zeros(0, 1, DType::kI64), x),
      "[segment_sum] offsets is [0, 1] (expected a contiguous [B + 1, 1] column)", Error);
  CHECK_THROWS_WITH_AS(reduce({0, 3, 6}),
                       "[segment_sum] offsets end at 6 (expected 7, the rows of x)", Error);
  CHECK_THROWS_WITH_AS(
      ops::segment_reduce(ctx, SegmentOp::kMean, column_i64({0, 7}).to_dtype(DType::kI32), x),
      "[segment_mean] offsets is i32 (expected i64)", Error);
  CHECK_THROWS_WITH_AS(
      ops::segment_reduce(ctx, SegmentOp::kMax, Tensor::zeros(2, 2, DType::kI64), x),
      "[segment_max] offsets is [2, 2] (expected a contiguous [B + 1, 1] column)", Error);
  Tensor y = Tensor::zeros(2, 3, DType::kF32);
  Tensor bad_arg = Tensor::zeros(2, 2, DType::kI64);
  CHECK_THROWS_WITH_AS(
      ops::segment_reduce(ctx, SegmentOp::kMax, column_i64({0, 2, 7}), x, y, &bad_arg),
      "[segment_max] argmax is [2, 2] (expected [2, 3])", Error);
  Tensor dx = Tensor::zeros(7, 3, DType::kF32);
  CHECK_THROWS_WITH_AS(ops::segment_reduce_backward(ctx, SegmentOp::kSum, column_i64({0, 7}),
                                                    Tensor::zeros(2, 3, DType::kF32), {}, dx),
                       "[segment_sum] dy is [2, 3] (expected [1, 3])", Error);

  const Tensor idx = Tensor::from_vector<int64_t>(3, 1, {0, 7, 2});
  CHECK_THROWS_WITH_AS(ops::gather_rows(ctx, x, idx),
                       "[gather_rows] index[1] = 7 is outside [0, 7), the rows of x", Error);
  const Tensor neg = Tensor::from_vector<int32_t>(2, 1, {-1, 0});
  CHECK_THROWS_WITH_AS(ops::scatter_add_rows(ctx, Tensor::zeros(2, 3, DType::kF32), neg, 7),
                       "[scatter_add_rows] index[0] = -1 is outside [0, 7), the rows of y", Error);
  CHECK_THROWS_WITH_AS(ops::gather_rows(ctx, x, Tensor::zeros(3, 1, DType::kF32)),
                       "[gather_rows] index is f32 (expected i32 or i64)", Error);
  CHECK_THROWS_WITH_AS(ops::gather_rows(ctx, x, Tensor::zeros(3, 2, DType::kI64)),
                       "[gather_rows] index is [3, 2] (expected a contiguous [M, 1] column)",
                       Error);
  CHECK_THROWS_WITH_AS(ops::scatter_add_rows(ctx, Tensor::zeros(2, 3, DType::kF32),
                                             Tensor::zeros(3, 1, DType::kI64), 7),
                       "[scatter_add_rows] x is [2, 3] (expected [3, 3])", Error);
}
