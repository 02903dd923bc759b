// Edge softmax and edge KL CPU twins against dense per-row formulations in double (each
// destination's in-edges read off the dense adjacency pattern), and the LSP structure-KL loss
// against an independent dense computation of reference/methods.md §1.3.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "autograd/functions_graph.h"
#include "engine/context.h"
#include "engine/error.h"
#include "engine/ops_graph.h"
#include "tests/support/checks.h"

using namespace gkd;
using gkd::test::dense_adjacency;
using gkd::test::to_eigen;

namespace {

// The in-neighbours of every node, read off the dense adjacency pattern (A(v, u) = 1 for u -> v),
// and the canonical id of each edge (u -> v) from the edge list.
struct Rows {
  std::vector<std::vector<int64_t>> sources;  // sources[v] = in-neighbours of v, increasing
  Eigen::MatrixXi edge;                       // edge(v, u) = canonical id of u -> v, or -1
};
Rows rows_of(const Graph& g) {
  const int64_t n = g.num_nodes();
  const Eigen::MatrixXd pattern = dense_adjacency(g);
  Rows r{std::vector<std::vector<int64_t>>(n), Eigen::MatrixXi::Constant(n, n, -1)};
  for (int64_t v = 0; v < n; ++v)
    for (int64_t u = 0; u < n; ++u)
      if (pattern(v, u) != 0) r.sources[v].push_back(u);
  const auto src = g.edge_src().to_vector<int32_t>(), dst = g.edge_dst().to_vector<int32_t>();
  for (int64_t e = 0; e < g.num_edges(); ++e) r.edge(dst[e], src[e]) = static_cast<int>(e);
  return r;
}

// Row v's entries of the edge tensor t (head h) as a vector, in the order of rows.sources[v].
Eigen::VectorXd gather(const Rows& rows, const Eigen::MatrixXd& t, int64_t v, int64_t h) {
  Eigen::VectorXd x(rows.sources[v].size());
  for (size_t k = 0; k < rows.sources[v].size(); ++k) x(k) = t(rows.edge(v, rows.sources[v][k]), h);
  return x;
}
void scatter(const Rows& rows, const Eigen::VectorXd& x, int64_t v, int64_t h, Eigen::MatrixXd& t) {
  for (size_t k = 0; k < rows.sources[v].size(); ++k) t(rows.edge(v, rows.sources[v][k]), h) = x(k);
}

Eigen::VectorXd softmax(const Eigen::VectorXd& z) {
  const Eigen::ArrayXd e = (z.array() - z.maxCoeff()).exp();
  return (e / e.sum()).matrix();
}

}  // namespace

TEST_CASE("reference: edge_softmax and edge_softmax_backward equal the dense row formulation") {
  const Context ctx = Context::cpu();
  for (const test::GraphCase& graph_case : test::graph_cases()) {
    const std::string& name = graph_case.name;
    const Graph& g = graph_case.graph;
    const Rows rows = rows_of(g);
    for (DType dtype : {DType::kF64, DType::kF32}) {
      for (int64_t heads : {1, 3}) {
        for (double range : {1.0, 500.0}) {  // 500: exp overflows without the max shift
          for (bool log : {false, true}) {
            const uint64_t seed = test::fresh_seed();
            CAPTURE(name);
            CAPTURE(heads);
            CAPTURE(range);
            CAPTURE(log);
            CAPTURE(seed);
            const int64_t e_count = g.num_edges();
            const Tensor z = test::random_tensor(e_count, heads, dtype, seed, -range, range);
            const Tensor dy = test::random_tensor(e_count, heads, dtype, seed + 1);
            const Eigen::MatrixXd zd = to_eigen(z), dyd = to_eigen(dy);
            Eigen::MatrixXd y(e_count, heads), dz(e_count, heads);
            for (int64_t v = 0; v < g.num_nodes(); ++v) {
              if (rows.sources[v].empty()) continue;
              for (int64_t h = 0; h < heads; ++h) {
                const Eigen::VectorXd zv = gather(rows, zd, v, h), pv = softmax(zv);
                const int64_t k = zv.size();
                // dz = Jᵀ dy with the Jacobian J = diag(p) - p pᵀ of softmax, or J = I - 1 pᵀ of
                // log-softmax (log p = z - logsumexp z).
                Eigen::MatrixXd jac;
                if (log) {
                  jac = Eigen::MatrixXd::Identity(k, k) - Eigen::VectorXd::Ones(k) * pv.transpose();
                  const double m = zv.maxCoeff();
                  const double lse = m + std::log((zv.array() - m).exp().sum());
                  scatter(rows, (zv.array() - lse).matrix(), v, h, y);
                } else {
                  jac = Eigen::MatrixXd(pv.asDiagonal()) - pv * pv.transpose();
                  scatter(rows, pv, v, h, y);
                }
                scatter(rows, jac.transpose() * gather(rows, dyd, v, h), v, h, dz);
              }
            }
            test::check_write_modes(
                [&](Tensor& out, bool) { ops::edge_softmax(ctx, g, z, out, log); }, y, dtype,
                seed + 2, /*with_accumulate=*/false);
            // The documented in-place form: p may be z itself.
            Tensor in_place = z.clone();
            ops::edge_softmax(ctx, g, in_place, in_place, log);
            CHECK(test::close_ratio(to_eigen(in_place), y, 1e-5, 1e-5) <= 1.0);
            const Tensor yt = ops::edge_softmax(ctx, g, z, log);
            test::check_write_modes(
                [&](Tensor& out, bool acc) {
                  ops::edge_softmax_backward(ctx, g, yt, dy, out, log, acc);
                },
                dz, dtype, seed + 3);
          }
        }
      }
    }
  }
}

TEST_CASE("reference: edge_kl and edge_kl_backward equal the dense row formulation") {
  const Context ctx = Context::cpu();
  for (const test::GraphCase& graph_case : test::graph_cases()) {
    const std::string& name = graph_case.name;
    const Graph& g = graph_case.graph;
    const Rows rows = rows_of(g);
    for (DType dtype : {DType::kF64, DType::kF32}) {
      for (int64_t heads : {1, 3}) {
        const uint64_t seed = test::fresh_seed();
        CAPTURE(name);
        CAPTURE(heads);
        CAPTURE(seed);
        const int64_t n = g.num_nodes(), e_count = g.num_edges();
        const Tensor lp =
            ops::edge_softmax(ctx, g, test::random_tensor(e_count, heads, dtype, seed), true);
        const Tensor lq =
            ops::edge_softmax(ctx, g, test::random_tensor(e_count, heads, dtype, seed + 1), true);
        const Tensor dkl = test::random_tensor(n, heads, dtype, seed + 2);
        const Eigen::MatrixXd lpd = to_eigen(lp), lqd = to_eigen(lq), gd = to_eigen(dkl);
        Eigen::MatrixXd kl = Eigen::MatrixXd::Zero(n, heads);
        Eigen::MatrixXd dlp(e_count, heads), dlq(e_count, heads);
        for (int64_t v = 0; v < n; ++v) {
          for (int64_t h = 0; h < heads; ++h) {
            const Eigen::ArrayXd pv = gather(rows, lpd, v, h).array().exp();
            const Eigen::ArrayXd qv = gather(rows, lqd, v, h).array().exp();
            kl(v, h) = (pv * (pv / qv).log()).sum();
            scatter(rows, (gd(v, h) * pv * ((pv / qv).log() + 1.0)).matrix(), v, h, dlp);
            scatter(rows, (-gd(v, h) * pv).matrix(), v, h, dlq);
          }
        }
        test::check_write_modes(
            [&](Tensor& out, bool acc) { ops::edge_kl(ctx, g, lp, lq, out, acc); }, kl, dtype,
            seed + 3);
        test::check_write_modes(
            [&](Tensor& out, bool acc) {
              ops::edge_kl_backward(ctx, g, lp, lq, dkl, &out, nullptr, acc);
            },
            dlp, dtype, seed + 4);
        test::check_write_modes(
            [&](Tensor& out, bool acc) {
              ops::edge_kl_backward(ctx, g, lp, lq, dkl, nullptr, &out, acc);
            },
            dlq, dtype, seed + 5);
      }
    }
  }
}

TEST_CASE("reference: edge_kl counts a zero reference probability as 0") {
  const Context ctx = Context::cpu();
  const Graph g = Graph::from_edges(3, {0, 1}, {2, 2});                   // node 2 has two in-edges
  const Tensor lp = Tensor::from_vector<double>(2, 1, {-INFINITY, 0.0});  // p = (0, 1)
  const Tensor lq = Tensor::from_vector<double>(2, 1, {std::log(0.25), std::log(0.75)});
  const auto kl = ops::edge_kl(ctx, g, lp, lq).to_vector<double>();
  CHECK(kl[0] == 0.0);
  CHECK(kl[1] == 0.0);
  CHECK(kl[2] == doctest::Approx(std::log(1.0 / 0.75)).epsilon(1e-14));
  Tensor dlp = Tensor::full(2, 1, NAN, DType::kF64), dlq = dlp.clone();
  ops::edge_kl_backward(ctx, g, lp, lq, Tensor::full(3, 1, 1.0, DType::kF64), &dlp, &dlq);
  CHECK(dlp.to_vector<double>()[0] == 0.0);
  CHECK(dlq.to_vector<double>()[0] == 0.0);
}

namespace {

// The structure-KL loss of reference/methods.md §1.3 computed densely, node by node: kernel
// values of each in-neighbour, softmax, KL(teacher || student), mean over all N nodes.
// max_logit receives the largest |kernel value| (f32 rounds logits relative to it).
double dense_structure_kl(const Rows& rows, const Eigen::MatrixXd& hs, const Eigen::MatrixXd& ht,
                          const autograd::StructureKernel& k, double& max_logit) {
  using Kind = autograd::StructureKernelKind;
  auto kernel = [&](const Eigen::RowVectorXd& x, const Eigen::RowVectorXd& y) {
    switch (k.kind) {
      case Kind::kL1Exp:
        return std::exp(-(x - y).lpNorm<1>() / k.tau);
      case Kind::kLinear:
        return x.dot(y);
      case Kind::kPolynomial:
        return std::pow(x.dot(y) + k.shift, k.degree);
      case Kind::kRbf:
        return std::exp(-(x - y).squaredNorm() / (2 * k.sigma * k.sigma));
      case Kind::kCosine:
        return x.dot(y) / (x.norm() * y.norm());
    }
    return 0.0;
  };
  const int64_t n = static_cast<int64_t>(rows.sources.size());
  double total = 0;
  max_logit = 0;
  for (int64_t v = 0; v < n; ++v) {
    const auto& src = rows.sources[v];
    if (src.empty()) continue;
    Eigen::VectorXd as(src.size()), at(src.size());
    for (size_t i = 0; i < src.size(); ++i) {
      as(i) = kernel(hs.row(src[i]), hs.row(v));
      at(i) = kernel(ht.row(src[i]), ht.row(v));
    }
    max_logit = std::max({max_logit, as.cwiseAbs().maxCoeff(), at.cwiseAbs().maxCoeff()});
    const Eigen::ArrayXd ps = softmax(as).array(), pt = softmax(at).array();
    total += (pt * (pt.log() - ps.log())).sum();
  }
  return n > 0 ? total / static_cast<double>(n) : 0.0;
}

}  // namespace

TEST_CASE("reference: structure_kl equals the dense LSP loss for every kernel") {
  using Kind = autograd::StructureKernelKind;
  const std::vector<autograd::StructureKernel> options = {
      {},  // official: exp(-L1 / 100)
      {.kind = Kind::kL1Exp, .tau = 2.0},
      {.kind = Kind::kLinear},
      {.kind = Kind::kPolynomial, .shift = 1.5, .degree = 3.0},
      {.kind = Kind::kRbf, .sigma = 0.8},
      {.kind = Kind::kCosine},
  };
  for (const test::GraphCase& graph_case : test::graph_cases()) {
    const std::string& name = graph_case.name;
    const Graph& g = graph_case.graph;
    const Rows rows = rows_of(g);
    for (DType dtype : {DType::kF64, DType::kF32}) {
      for (size_t k = 0; k < options.size(); ++k) {
        const uint64_t seed = test::fresh_seed();
        CAPTURE(name);
        CAPTURE(k);
        CAPTURE(seed);
        // Student and teacher widths differ, as in LSP (136 vs 1024).
        const Tensor hs = test::random_tensor(g.num_nodes(), 6, dtype, seed);
        const Tensor ht = test::random_tensor(g.num_nodes(), 11, dtype, seed + 1);
        autograd::Tape tape(Context::cpu());
        const autograd::Var loss =
            autograd::structure_kl(g, tape.constant(hs), tape.constant(ht), options[k]);
        REQUIRE(loss.rows() == 1);
        REQUIRE(loss.cols() == 1);
        double max_logit = 0;
        const double want =
            dense_structure_kl(rows, to_eigen(hs), to_eigen(ht), options[k], max_logit);
        // f32 stores each kernel value with a relative error ~6e-8, so the logits (and the loss)
        // carry an absolute error that grows with their magnitude.
        const double tol = dtype == DType::kF64 ? 1e-12 : 1e-5 * (1 + max_logit);
        CHECK(std::abs(to_eigen(loss.value())(0, 0) - want) <= tol * (1 + std::abs(want)));
        if (g.num_edges() > 1) CHECK(want > 0);  // distinct features: a non-trivial loss
      }
    }
  }
}

TEST_CASE("reference: edge softmax family rejects mismatched inputs with clear messages") {
  const Context ctx = Context::cpu();
  const Graph g = test::tiny_directed();  // 7 nodes, 10 edges
  const Tensor z = Tensor::zeros(10, 2, DType::kF32);
  CHECK_THROWS_WITH_AS(ops::edge_softmax(ctx, g, Tensor::zeros(9, 2, DType::kF32)),
                       "[edge_softmax] z is [9, 2] (expected [10, 2])", Error);
  Tensor p = Tensor::zeros(10, 2, DType::kF64);
  CHECK_THROWS_WITH_AS(ops::edge_softmax(ctx, g, z, p), "[edge_softmax] p is f64 (expected f32)",
                       Error);
  Tensor dz = Tensor::zeros(10, 2, DType::kF32);
  CHECK_THROWS_WITH_AS(ops::edge_softmax_backward(ctx, g, z, Tensor::zeros(10, 1, DType::kF32), dz),
                       "[edge_softmax_backward] dy is [10, 1] (expected [10, 2])", Error);
  CHECK_THROWS_WITH_AS(ops::edge_kl(ctx, g, z, Tensor::zeros(10, 3, DType::kF32)),
                       "[edge_kl] lq is [10, 3] (expected [10, 2])", Error);
  Tensor dp = Tensor::zeros(10, 2, DType::kF32);
  CHECK_THROWS_WITH_AS(
      ops::edge_kl_backward(ctx, g, z, z, Tensor::zeros(10, 2, DType::kF32), &dp, nullptr),
      "[edge_kl_backward] dkl is [10, 2] (expected [7, 2])", Error);
  autograd::Tape tape(ctx);
  const autograd::Var hs = tape.constant(Tensor::zeros(7, 3, DType::kF32));
  CHECK_THROWS_WITH_AS(
      autograd::structure_kl(g, hs, tape.constant(Tensor::zeros(6, 3, DType::kF32))),
      "[structure_kl] h_student has 7 rows and h_teacher 6 (expected the graph's 7 nodes)", Error);
  CHECK_THROWS_WITH_AS(
      autograd::structure_kl(g, hs, hs, {.kind = autograd::StructureKernelKind::kRbf, .sigma = 0}),
      "[structure_kl] sigma is 0 (expected > 0)", Error);
}
