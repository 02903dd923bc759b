// Gradient checks (double, CPU) of the differentiable graph functions on directed, asymmetric,
// weighted graphs with isolated nodes and self loops.
#include <doctest/doctest.h>

#include "autograd/functions_graph.h"
#include "engine/error.h"
#include "autograd/gradcheck.h"
#include "tests/support/fixtures.h"

using namespace gkd;
using namespace gkd::autograd;

namespace {
void require_ok(const GradcheckResult& r) {
  INFO(r.report);
  CHECK(r.ok);
}
}  // namespace

TEST_CASE("gradcheck: spmm with per-head edge weights, plain sum and mean") {
  for (const Graph& g : {test::tiny_directed(), test::random_graph(40, 3.0, 5, true)}) {
    const Tensor x = test::random_tensor(g.num_nodes(), 6, DType::kF64, 1);
    const Tensor w = test::random_tensor(g.num_edges(), 2, DType::kF64, 2);
    require_ok(gradcheck([&](Tape&, const std::vector<Var>& in) { return spmm(g, in[0], in[1]); },
                         {x, w}));
    require_ok(gradcheck([&](Tape&, const std::vector<Var>& in) { return spmm(g, in[0]); }, {x}));
    require_ok(gradcheck(
        [&](Tape&, const std::vector<Var>& in) { return spmm(g, in[0], Var(), true); }, {x}));
  }
}

TEST_CASE("gradcheck: spmm refuses mean aggregation with edge weights") {
  Tape tape(Context::cpu());
  const Graph g = test::tiny_directed();
  Var x = tape.leaf(test::random_tensor(7, 2, DType::kF64, 1));
  Var w = tape.leaf(test::random_tensor(g.num_edges(), 1, DType::kF64, 2));
  CHECK_THROWS_WITH_AS(spmm(g, x, w, true), doctest::Contains("[spmm] mean aggregation"), Error);
}
