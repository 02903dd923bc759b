// The tape itself: reverse-order accumulation, shared inputs, constants, parameters, NoGrad.
#include <doctest/doctest.h>

#include "autograd/functions_graph.h"
#include "autograd/gradcheck.h"
#include "engine/error.h"
#include "engine/ops_graph.h"
#include "tests/support/fixtures.h"

using namespace gkd;
using namespace gkd::autograd;

TEST_CASE("tape: a value used twice receives the sum of both gradients") {
  // y = A x + A x through two spmm nodes; dL/dx = 2 Aᵀ R.
  const Graph g = test::tiny_directed();
  Tape tape(Context::cpu());
  Var x = tape.leaf(test::random_tensor(7, 3, DType::kF64, 4));
  Var y1 = spmm(g, x), y2 = spmm(g, x);
  const Tensor r = test::random_tensor(7, 3, DType::kF64, 5);
  tape.backward(y1, r);
  tape.backward(y2, r);
  const Eigen::MatrixXd want = 2.0 * test::dense_adjacency(g).transpose() * test::to_eigen(r);
  CHECK(test::close_ratio(test::to_eigen(x.grad()), want, 1e-12, 1e-12) <= 1.0);
}

TEST_CASE("tape: constants and NoGrad scopes record no backward") {
  const Graph g = test::tiny_directed();
  Tape tape(Context::cpu());
  Var c = tape.constant(test::random_tensor(7, 2, DType::kF64, 1));
  Var y = spmm(g, c);
  CHECK(!y.requires_grad());
  CHECK_THROWS_WITH_AS(tape.backward(y, y.value()),
                       doctest::Contains("does not depend on any variable"), Error);
  Var x = tape.leaf(test::random_tensor(7, 2, DType::kF64, 2));
  {
    NoGrad no_grad(tape);
    CHECK(!spmm(g, x).requires_grad());
  }
  CHECK(spmm(g, x).requires_grad());
}

TEST_CASE("tape: parameters accumulate into their own grad across tapes") {
  const Graph g = test::tiny_directed();
  Parameter p{"w", test::random_tensor(7, 2, DType::kF64, 3), {}};
  const Tensor r = test::random_tensor(7, 2, DType::kF64, 6);
  for (int step = 0; step < 2; ++step) {
    Tape tape(Context::cpu());
    tape.backward(spmm(g, tape.param(p)), r);
  }
  const Eigen::MatrixXd want = 2.0 * test::dense_adjacency(g).transpose() * test::to_eigen(r);
  CHECK(test::close_ratio(test::to_eigen(p.grad), want, 1e-12, 1e-12) <= 1.0);
}

TEST_CASE("tape: misuse is reported") {
  Tape a(Context::cpu()), b(Context::cpu());
  Var x = a.leaf(Tensor::zeros(7, 1, DType::kF64));
  CHECK_THROWS_WITH_AS(b.grad_of(x), doctest::Contains("does not belong to this tape"), Error);
  CHECK_THROWS_WITH_AS(a.backward(x), doctest::Contains("(expected a [1, 1] scalar"), Error);
  a.reset();
  CHECK_THROWS_AS(x.value(), Error);
}

TEST_CASE("gradcheck: detects a wrong backward") {
  // A deliberately wrong function: forward spmm over in-edges, backward also over in-edges
  // (instead of the transpose). gradcheck must fail on an asymmetric graph.
  const Graph g = test::tiny_directed();
  const auto wrong = [&](Tape& tape, const std::vector<Var>& in) {
    Var x = in[0];
    return tape.record("wrong_spmm", ops::spmm(tape.context(), g, x.value()), {x},
                       [g, x](Tape& t, const Tensor& gy) {
                         ops::spmm(t.context(), g, gy, Tensor(), t.grad_of(x),
                                   {.accumulate = true});
                       });
  };
  const GradcheckResult r = gradcheck(wrong, {test::random_tensor(7, 2, DType::kF64, 1)});
  CHECK(!r.ok);
  CHECK(r.report.find("analytic") != std::string::npos);
}
