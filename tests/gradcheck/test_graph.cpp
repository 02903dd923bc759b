// Gradient checks (double, CPU) of the differentiable graph functions on directed, asymmetric,
// weighted graphs with isolated nodes and self loops.
#include <doctest/doctest.h>

#include "autograd/functions_graph.h"
#include "autograd/gradcheck.h"
#include "engine/error.h"
#include "tests/support/checks.h"

using namespace gkd;
using namespace gkd::autograd;

TEST_CASE("gradcheck: spmm with per-head edge weights, plain sum and mean") {
  for (const Graph& g : {test::tiny_directed(), test::random_graph(40, 3.0, 5, true)}) {
    const Tensor x = test::random_tensor(g.num_nodes(), 6, DType::kF64, 1);
    const Tensor w = test::random_tensor(g.num_edges(), 2, DType::kF64, 2);
    test::require_gradcheck(gradcheck(
        [&](Tape&, const std::vector<Var>& in) { return spmm(g, in[0], in[1]); }, {x, w}));
    test::require_gradcheck(
        gradcheck([&](Tape&, const std::vector<Var>& in) { return spmm(g, in[0]); }, {x}));
    test::require_gradcheck(gradcheck(
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

namespace {

// Graphs for the edge functions: directed, asymmetric, an isolated node, self loops.
std::vector<Graph> edge_graphs() {
  return {test::tiny_directed(), test::random_graph(30, 3.0, 5, true)};
}

}  // namespace

TEST_CASE("gradcheck: sddmm for every op, with distinct and shared operands") {
  using kernels::SddmmOp;
  for (const Graph& g : edge_graphs()) {
    for (SddmmOp op : {SddmmOp::kDot, SddmmOp::kL1, SddmmOp::kSquaredL2, SddmmOp::kCosine}) {
      for (int64_t heads : {1, 2}) {
        CAPTURE(static_cast<int>(op));
        CAPTURE(heads);
        // Continuous random features: no coordinate difference sits on the |x| kink.
        const Tensor u = test::random_tensor(g.num_nodes(), 3 * heads, DType::kF64, 11);
        const Tensor v = test::random_tensor(g.num_nodes(), 3 * heads, DType::kF64, 12);
        test::require_gradcheck(gradcheck(
            [&](Tape&, const std::vector<Var>& in) { return sddmm(g, op, in[0], in[1], heads); },
            {u, v}));
        // u and v the same Var (a node set against itself, as in the LSP distance).
        test::require_gradcheck(gradcheck(
            [&](Tape&, const std::vector<Var>& in) { return sddmm(g, op, in[0], in[0], heads); },
            {u}));
      }
    }
  }
}

TEST_CASE("gradcheck: sddmm_u_add_v plain and with the fused LeakyReLU, and edge_reduce") {
  for (const Graph& g : edge_graphs()) {
    const Tensor a_src = test::random_tensor(g.num_nodes(), 3, DType::kF64, 21);
    const Tensor a_dst = test::random_tensor(g.num_nodes(), 3, DType::kF64, 22);
    for (bool leaky : {false, true}) {
      CAPTURE(leaky);
      test::require_gradcheck(gradcheck(
          [&](Tape&, const std::vector<Var>& in) {
            return sddmm_u_add_v(g, in[0], in[1], leaky, 0.2);
          },
          {a_src, a_dst}));
    }
    const Tensor w = test::random_tensor(g.num_edges(), 2, DType::kF64, 23);
    for (bool transpose : {false, true}) {
      test::require_gradcheck(gradcheck(
          [&](Tape&, const std::vector<Var>& in) { return edge_reduce(g, in[0], transpose); },
          {w}));
    }
  }
}

TEST_CASE("gradcheck: edge_map, edge_softmax and edge_kl") {
  const Tensor x = test::random_tensor(17, 2, DType::kF64, 31, 0.1, 2.0);
  for (const ops::EdgeMap& map :
       {ops::EdgeMap{.op = kernels::EdgeMapOp::kExpNeg, .scale = 0.7},
        ops::EdgeMap{.op = kernels::EdgeMapOp::kPower, .shift = 0.5, .degree = 2.5}}) {
    test::require_gradcheck(
        gradcheck([&](Tape&, const std::vector<Var>& in) { return edge_map(in[0], map); }, {x}));
  }
  for (const Graph& g : edge_graphs()) {
    for (int64_t heads : {1, 3}) {
      const Tensor z1 = test::random_tensor(g.num_edges(), heads, DType::kF64, 32, -2.0, 2.0);
      const Tensor z2 = test::random_tensor(g.num_edges(), heads, DType::kF64, 33, -2.0, 2.0);
      test::require_gradcheck(gradcheck(
          [&](Tape&, const std::vector<Var>& in) { return edge_softmax(g, in[0]); }, {z1}));
      test::require_gradcheck(gradcheck(
          [&](Tape&, const std::vector<Var>& in) { return edge_log_softmax(g, in[0]); }, {z1}));
      // Both arguments differentiated, as log-softmax outputs and as raw [E, H] values.
      test::require_gradcheck(gradcheck(
          [&](Tape&, const std::vector<Var>& in) {
            return edge_kl(g, edge_log_softmax(g, in[0]), edge_log_softmax(g, in[1]));
          },
          {z1, z2}));
      test::require_gradcheck(gradcheck(
          [&](Tape&, const std::vector<Var>& in) { return edge_kl(g, in[0], in[1]); }, {z1, z2}));
      test::require_gradcheck(gradcheck(
          [&](Tape&, const std::vector<Var>& in) {
            const Var lp = edge_log_softmax(g, in[0]);
            return edge_kl(g, lp, lp);  // KL(p || p): both partials land in one gradient
          },
          {z1}));
    }
  }
}

TEST_CASE("gradcheck: segment sum, mean and max over a batch and over explicit offsets") {
  const Graph batch = Graph::batch({test::tiny_directed(), test::random_graph(9, 2.0, 4)});
  const Tensor x = test::random_tensor(batch.num_nodes(), 4, DType::kF64, 41);
  test::require_gradcheck(
      gradcheck([&](Tape&, const std::vector<Var>& in) { return segment_sum(batch, in[0]); }, {x}));
  test::require_gradcheck(gradcheck(
      [&](Tape&, const std::vector<Var>& in) { return segment_mean(batch, in[0]); }, {x}));
  // Continuous random values: every column maximum is unique and far from its runner-up.
  test::require_gradcheck(
      gradcheck([&](Tape&, const std::vector<Var>& in) { return segment_max(batch, in[0]); }, {x}));
  const Tensor offsets = Tensor::from_vector<int64_t>(4, 1, {0, 5, 5, 16});  // an empty segment
  for (auto op : {kernels::SegmentOp::kSum, kernels::SegmentOp::kMean, kernels::SegmentOp::kMax}) {
    test::require_gradcheck(gradcheck(
        [&](Tape&, const std::vector<Var>& in) { return segment_reduce(offsets, in[0], op); },
        {x}));
  }
}

TEST_CASE("gradcheck: gather_rows and scatter_add_rows with repeated i32 and i64 indices") {
  const Tensor x = test::random_tensor(6, 3, DType::kF64, 51);
  const Tensor xm = test::random_tensor(8, 3, DType::kF64, 52);
  const std::vector<int64_t> idx = {5, 0, 2, 2, 5, 1, 0, 5};
  for (const Tensor& index : {Tensor::from_vector<int64_t>(8, 1, idx),
                              Tensor::from_vector<int64_t>(8, 1, idx).to_dtype(DType::kI32)}) {
    test::require_gradcheck(gradcheck(
        [&](Tape&, const std::vector<Var>& in) { return gather_rows(in[0], index); }, {x}));
    test::require_gradcheck(gradcheck(
        [&](Tape&, const std::vector<Var>& in) { return scatter_add_rows(in[0], index, 6); },
        {xm}));
  }
}

TEST_CASE("gradcheck: structure_kl for every kernel, frozen teacher and mutual") {
  using Kind = StructureKernelKind;
  const std::vector<StructureKernel> kernels_to_check = {
      {},  // official: exp(-L1 / 100)
      {.kind = Kind::kL1Exp, .tau = 1.0},
      {.kind = Kind::kLinear},
      {.kind = Kind::kPolynomial, .shift = 1.5, .degree = 3.0},
      {.kind = Kind::kRbf, .sigma = 0.8},
      {.kind = Kind::kCosine},
  };
  for (const Graph& g : edge_graphs()) {
    const Tensor hs = test::random_tensor(g.num_nodes(), 4, DType::kF64, 61);
    const Tensor ht = test::random_tensor(g.num_nodes(), 7, DType::kF64, 62);
    for (size_t k = 0; k < kernels_to_check.size(); ++k) {
      CAPTURE(k);
      const StructureKernel& kernel = kernels_to_check[k];
      // Official LSP: the teacher is a constant and only the student is differentiated.
      test::require_gradcheck(gradcheck(
          [&](Tape& tape, const std::vector<Var>& in) {
            return structure_kl(g, in[0], tape.constant(ht), kernel);
          },
          {hs}));
      // Mutual / online variants: both sides receive a gradient.
      test::require_gradcheck(gradcheck(
          [&](Tape&, const std::vector<Var>& in) { return structure_kl(g, in[0], in[1], kernel); },
          {hs, ht}));
    }
  }
}

TEST_CASE("gradcheck: structure_kl leaves a NoGrad teacher without a gradient") {
  const Graph g = test::tiny_directed();
  Tape tape(Context::cpu());
  const Var hs = tape.leaf(test::random_tensor(7, 4, DType::kF64, 71));
  const Var ht = tape.leaf(test::random_tensor(7, 5, DType::kF64, 72));
  Var pt;
  {
    NoGrad no_grad(tape);
    pt = edge_log_softmax(g, structure_kernel(g, ht));
  }
  const Var kl = edge_kl(g, pt, edge_log_softmax(g, structure_kernel(g, hs)));  // [N, 1]
  const Var mean = segment_mean(Tensor::from_vector<int64_t>(2, 1, {0, 7}), kl);
  tape.backward(mean);
  CHECK(hs.grad().defined());
  CHECK_FALSE(ht.grad().defined());
  // The composed loss is structure_kl with a constant teacher.
  Tape other(Context::cpu());
  const Var loss = structure_kl(g, other.constant(hs.value()), other.constant(ht.value()));
  CHECK(loss.value().item<double>() == doctest::Approx(mean.value().item<double>()).epsilon(1e-14));
}
