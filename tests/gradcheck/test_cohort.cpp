// Gradient checks (double, CPU) of the functions that make students a batch dimension, and the
// block semantics they promise: a block of a batched result equals the lone computation.
#include <doctest/doctest.h>

#include "autograd/functions_cohort.h"
#include "autograd/functions_dense.h"
#include "autograd/functions_graph.h"
#include "autograd/gradcheck.h"
#include "engine/error.h"
#include "tests/support/checks.h"

using namespace gkd;
using namespace gkd::autograd;

namespace {
const DType f64 = DType::kF64;

void check_close(const Tensor& got, const Tensor& want, double tol) {
  CHECK(test::close_ratio(test::to_eigen(got), test::to_eigen(want), tol, tol) <= 1.0);
}
}  // namespace

TEST_CASE("gradcheck: concat_cols and slice_cols") {
  const Tensor a = test::random_tensor(5, 2, f64, 1), b = test::random_tensor(5, 3, f64, 2);
  test::require_gradcheck(gradcheck(
      [](Tape&, const std::vector<Var>& in) {
        return concat_cols({in[0], in[1], in[0]});
      },
      {a, b}));
  const Tensor x = test::random_tensor(4, 7, f64, 3);
  test::require_gradcheck(
      gradcheck([](Tape&, const std::vector<Var>& in) { return slice_cols(in[0], 2, 5); }, {x}));
  Tape tape(Context::cpu());
  Var v = tape.leaf(x);
  CHECK(slice_cols(v, 0, 7).id() == v.id());
  CHECK(concat_cols({v}).id() == v.id());
  CHECK(slice_cols(v, 2, 5).value().to_vector<double>() ==
        x.slice_cols(2, 5).clone().to_vector<double>());
  CHECK_THROWS_WITH_AS(slice_cols(v, 3, 9), doctest::Contains("columns [3, 9)"), Error);
  CHECK_THROWS_WITH_AS(concat_cols({v, tape.leaf(test::random_tensor(3, 1, f64, 4))}),
                       doctest::Contains("expected one row count"), Error);
}

TEST_CASE("gradcheck: block_matmul, and each block is its own product") {
  const Tensor a = test::random_tensor(5, 3 * 4, f64, 5), b = test::random_tensor(4, 3 * 2, f64, 6);
  test::require_gradcheck(gradcheck(
      [](Tape&, const std::vector<Var>& in) { return block_matmul(in[0], in[1], 3); }, {a, b}));
  Tape tape(Context::cpu());
  const Var y = block_matmul(tape.leaf(a), tape.leaf(b), 3);  // [5, 6]
  for (int64_t k = 0; k < 3; ++k) {
    const Var alone = matmul(tape.leaf(a.slice_cols(4 * k, 4 * k + 4).clone()),
                             tape.leaf(b.slice_cols(2 * k, 2 * k + 2).clone()));
    check_close(y.value().slice_cols(2 * k, 2 * k + 2).clone(), alone.value(), 1e-12);
  }
  CHECK_THROWS_WITH_AS(block_matmul(tape.leaf(a), tape.leaf(b), 5), doctest::Contains("not 5"),
                       Error);
}

TEST_CASE("gradcheck: dropout_blocks draws each block's mask from its own seed") {
  const Tensor x = test::random_tensor(6, 3 * 4, f64, 7),
               shared = test::random_tensor(6, 4, f64, 8);
  const std::vector<uint64_t> seeds{11, 12, 13};
  test::require_gradcheck(gradcheck(
      [&](Tape&, const std::vector<Var>& in) {
        return dropout_blocks(in[0], 0.4f, seeds, 3, true);
      },
      {x}));
  test::require_gradcheck(gradcheck(
      [&](Tape&, const std::vector<Var>& in) {
        return dropout_blocks(in[0], 0.4f, seeds, 3, true, true);
      },
      {shared}));
  Tape tape(Context::cpu());
  const Var blocked = dropout_blocks(tape.leaf(x), 0.4f, seeds, 3, true);
  const Var broadcast = dropout_blocks(tape.leaf(shared), 0.4f, seeds, 3, true, true);
  CHECK(broadcast.cols() == 12);
  for (int64_t k = 0; k < 3; ++k) {
    const Var lone =
        dropout(tape.leaf(x.slice_cols(4 * k, 4 * k + 4).clone()), 0.4f, seeds[k], 3, true);
    CHECK(blocked.value().slice_cols(4 * k, 4 * k + 4).clone().to_vector<double>() ==
          lone.value().to_vector<double>());
    const Var lone_shared = dropout(tape.leaf(shared), 0.4f, seeds[k], 3, true);
    CHECK(broadcast.value().slice_cols(4 * k, 4 * k + 4).clone().to_vector<double>() ==
          lone_shared.value().to_vector<double>());
  }
  Var v = tape.leaf(x);
  CHECK(dropout_blocks(v, 0.4f, seeds, 3, false).id() == v.id());
  CHECK(dropout_blocks(v, 0.0f, seeds, 3, true).id() == v.id());
}
