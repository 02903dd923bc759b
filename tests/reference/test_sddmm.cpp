// SDDMM-family CPU twins (sddmm, sddmm_backward, u_add_v, edge_reduce, edge_map) against dense or
// edge-list Eigen formulations in double: sampled dense products N x N per head, adjacency-matrix
// products for the node-side reductions.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/context.h"
#include "engine/error.h"
#include "engine/ops_graph.h"
#include "kernels/cpu/simd_math.h"
#include "tests/support/checks.h"

using namespace gkd;
using gkd::kernels::SddmmOp;
using gkd::kernels::SddmmSide;
using gkd::test::dense_adjacency;
using gkd::test::to_eigen;

namespace {

struct EdgeList {
  std::vector<int32_t> src, dst;  // canonical edge e goes src[e] -> dst[e]
};
EdgeList edge_list(const Graph& g) {
  return {g.edge_src().to_vector<int32_t>(), g.edge_dst().to_vector<int32_t>()};
}

// Rows scaled to unit length (norms clamped at kCosineEps).
Eigen::MatrixXd normalized(const Eigen::MatrixXd& m) {
  Eigen::VectorXd n = m.rowwise().norm();
  for (int64_t i = 0; i < n.size(); ++i) n(i) = std::max(n(i), kernels::kCosineEps);
  return n.cwiseInverse().asDiagonal() * m;
}

// The SDDMM as a dense N x N matrix of op(u_i, v_j) per head, sampled at the edges. L1 has no
// matrix form; it is evaluated per edge from the edge list.
Eigen::MatrixXd dense_sddmm(const Graph& g, SddmmOp op, const Eigen::MatrixXd& u,
                            const Eigen::MatrixXd& v, int64_t heads) {
  const int64_t n = g.num_nodes(), f = u.cols() / heads;
  const EdgeList el = edge_list(g);
  Eigen::MatrixXd out(g.num_edges(), heads);
  for (int64_t h = 0; h < heads; ++h) {
    const Eigen::MatrixXd uh = u.middleCols(h * f, f), vh = v.middleCols(h * f, f);
    Eigen::MatrixXd full(n, n);  // full(i, j) = op(u_i, v_j)
    const Eigen::VectorXd ones = Eigen::VectorXd::Ones(n);
    switch (op) {
      case SddmmOp::kDot:
        full = uh * vh.transpose();
        break;
      case SddmmOp::kSquaredL2:
        full = uh.rowwise().squaredNorm() * ones.transpose() +
               ones * vh.rowwise().squaredNorm().transpose() - 2.0 * uh * vh.transpose();
        break;
      case SddmmOp::kCosine:
        full = normalized(uh) * normalized(vh).transpose();
        break;
      case SddmmOp::kL1:
        break;
    }
    for (int64_t e = 0; e < g.num_edges(); ++e) {
      const int32_t s = el.src[e], d = el.dst[e];
      out(e, h) = op == SddmmOp::kL1 ? (uh.row(s) - vh.row(d)).cwiseAbs().sum() : full(s, d);
    }
  }
  return out;
}

// d<G, sddmm(u, v)>/du and /dv. Dot and squared L2 through the gradient adjacency A_h(v, u) =
// grad[e, h]; L1 and cosine per edge.
std::pair<Eigen::MatrixXd, Eigen::MatrixXd> dense_sddmm_grad(const Graph& g, SddmmOp op,
                                                             const Eigen::MatrixXd& u,
                                                             const Eigen::MatrixXd& v,
                                                             const Tensor& grad) {
  const int64_t heads = grad.cols(), f = u.cols() / heads;
  const Eigen::MatrixXd gd = to_eigen(grad);
  const EdgeList el = edge_list(g);
  Eigen::MatrixXd du = Eigen::MatrixXd::Zero(u.rows(), u.cols()), dv = du;
  for (int64_t h = 0; h < heads; ++h) {
    const Eigen::MatrixXd uh = u.middleCols(h * f, f), vh = v.middleCols(h * f, f);
    const Eigen::MatrixXd a = dense_adjacency(g, grad, h);
    auto dut = du.middleCols(h * f, f);
    auto dvt = dv.middleCols(h * f, f);
    if (op == SddmmOp::kDot) {
      dut = a.transpose() * vh;
      dvt = a * uh;
    } else if (op == SddmmOp::kSquaredL2) {
      const Eigen::VectorXd in = a.rowwise().sum(), out = a.colwise().sum().transpose();
      dut = 2.0 * (out.asDiagonal() * uh - a.transpose() * vh);
      dvt = 2.0 * (in.asDiagonal() * vh - a * uh);
    } else {
      for (int64_t e = 0; e < g.num_edges(); ++e) {
        const int32_t s = el.src[e], d = el.dst[e];
        const Eigen::RowVectorXd x = uh.row(s), y = vh.row(d);
        const double ge = gd(e, h);
        if (op == SddmmOp::kL1) {
          const Eigen::RowVectorXd sg = (x - y).array().sign().matrix();
          dut.row(s) += ge * sg;
          dvt.row(d) -= ge * sg;
        } else {
          const double nx = x.norm(), ny = y.norm(), c = x.dot(y) / (nx * ny);
          dut.row(s) += ge * (y / (nx * ny) - c * x / (nx * nx));
          dvt.row(d) += ge * (x / (nx * ny) - c * y / (ny * ny));
        }
      }
    }
  }
  return {du, dv};
}

const char* op_name(SddmmOp op) {
  switch (op) {
    case SddmmOp::kDot:
      return "dot";
    case SddmmOp::kL1:
      return "L1";
    case SddmmOp::kSquaredL2:
      return "squared L2";
    case SddmmOp::kCosine:
      return "cosine";
  }
  return "?";
}

}  // namespace

TEST_CASE("reference: sddmm and sddmm_backward equal the dense formulation for every op") {
  const Context ctx = Context::cpu();
  for (const test::GraphCase& graph_case : test::graph_cases()) {
    const std::string& name = graph_case.name;
    const Graph& g = graph_case.graph;
    for (DType dtype : {DType::kF64, DType::kF32}) {
      for (int64_t heads : {1, 3}) {
        for (int64_t f : {1, 5, 33}) {
          // The hub graph is there for its long rows; one width keeps its N x N oracle cheap.
          if (g.num_nodes() > 1000 && f != 5) continue;
          for (SddmmOp op : {SddmmOp::kDot, SddmmOp::kL1, SddmmOp::kSquaredL2, SddmmOp::kCosine}) {
            const uint64_t seed = test::fresh_seed();
            CAPTURE(name);
            CAPTURE(heads);
            CAPTURE(f);
            const std::string op_str = op_name(op);
            CAPTURE(op_str);
            CAPTURE(seed);
            const int64_t n = g.num_nodes(), w = heads * f;
            // Entries away from 0: with F = 1 the cosine is ±1 and its gradient an exact
            // cancellation of terms ~ 1/(|x||y|), which tiny entries would blow up.
            const Tensor u = test::random_away_from_zero(n, w, dtype, seed);
            const Tensor v = test::random_away_from_zero(n, w, dtype, seed + 1);
            const Tensor grad = test::random_tensor(g.num_edges(), heads, dtype, seed + 2);
            const Eigen::MatrixXd ud = to_eigen(u), vd = to_eigen(v);
            test::check_write_modes(
                [&](Tensor& out, bool acc) { ops::sddmm(ctx, g, op, u, v, out, acc); },
                dense_sddmm(g, op, ud, vd, heads), dtype, seed + 3);
            const auto [du, dv] = dense_sddmm_grad(g, op, ud, vd, grad);
            test::check_write_modes(
                [&](Tensor& d, bool acc) {
                  ops::sddmm_backward(ctx, g, op, SddmmSide::kU, u, v, grad, d, acc);
                },
                du, dtype, seed + 4);
            test::check_write_modes(
                [&](Tensor& d, bool acc) {
                  ops::sddmm_backward(ctx, g, op, SddmmSide::kV, u, v, grad, d, acc);
                },
                dv, dtype, seed + 5);
          }
        }
      }
    }
  }
}

// With AVX-512, the dot over heads of width 8 (GAT's 8 x 8) reduces eight heads at once, and over
// narrower heads eight edges at once (dot_8x8 and dot_narrow in kernels/cpu/sddmm.cpp). Both must
// keep the twin's definition bit for bit: each value is lane_sum(f, u_j v_j) in double, rounded to
// T (added to the old value in double first when accumulating). Zeros of both signs check that a -0
// sum comes out as lane_sum's +0.
template <class T>
void check_dot_lane_sum(const Graph& g, int64_t heads, int64_t f, uint64_t seed) {
  const Context ctx = Context::cpu();
  const DType dtype = std::is_same_v<T, float> ? DType::kF32 : DType::kF64;
  const int64_t n = g.num_nodes(), e = g.num_edges(), w = f * heads;
  std::vector<T> u = test::random_tensor(n, w, dtype, seed).to_vector<T>();
  std::vector<T> v = test::random_tensor(n, w, dtype, seed + 1).to_vector<T>();
  for (size_t i = 0; i < u.size(); i += 7) u[i] = i % 2 ? T(0) : -T(0);
  for (size_t i = 0; i < v.size(); i += 3) v[i] = i % 2 ? T(0) : -T(0);
  // Node 0's edges: head 0's products all -0 (u = -0, v > 0), whose sum lane_sum gives as +0.
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < f; ++j) v[i * w + j] = std::abs(v[i * w + j]) + T(0.5);
  }
  if (n > 0) std::fill(u.begin(), u.begin() + f, -T(0));
  const std::vector<T> old = test::random_tensor(e, heads, dtype, seed + 2).to_vector<T>();
  const EdgeList edges = edge_list(g);
  for (bool accumulate : {false, true}) {
    CAPTURE(accumulate);
    Tensor out = Tensor::from_vector<T>(e, heads, old);
    ops::sddmm(ctx, g, SddmmOp::kDot, Tensor::from_vector<T>(n, w, u),
               Tensor::from_vector<T>(n, w, v), out, accumulate);
    const std::vector<T> got = out.to_vector<T>();
    int64_t mismatches = 0;
    for (int64_t i = 0; i < e; ++i) {
      for (int64_t h = 0; h < heads; ++h) {
        const T* x = &u[edges.src[i] * w + f * h];
        const T* y = &v[edges.dst[i] * w + f * h];
        const double sum =
            kernels::cpu::lane_sum(f, [&](int64_t j) { return double(x[j]) * y[j]; });
        const T want = static_cast<T>(accumulate ? old[i * heads + h] + sum : sum);
        mismatches += std::memcmp(&want, &got[i * heads + h], sizeof(T)) != 0;
      }
    }
    CHECK(mismatches == 0);
  }
}

// Heads of 8 and narrower ones: the CPU twin has an intrinsic path for each (eight heads at once;
// eight edges at once).
TEST_CASE("reference: sddmm dot is lane_sum's order bit for bit") {
  const std::vector<std::pair<int64_t, int64_t>> heads_and_widths = {{8, 8}, {16, 8}, {1, 7},
                                                                     {1, 1}, {3, 5},  {2, 6}};
  for (const test::GraphCase& graph_case : test::graph_cases()) {
    for (const auto& hf : heads_and_widths) {
      const int64_t heads = hf.first, f = hf.second;
      const uint64_t seed = test::fresh_seed();
      CAPTURE(graph_case.name);
      CAPTURE(heads);
      CAPTURE(f);
      CAPTURE(seed);
      check_dot_lane_sum<float>(graph_case.graph, heads, f, seed);
      check_dot_lane_sum<double>(graph_case.graph, heads, f, seed);
    }
  }
}

TEST_CASE("reference: sddmm cosine clamps zero rows and L1 has zero slope at ties") {
  const Context ctx = Context::cpu();
  const Graph g = Graph::from_edges(2, {0, 1}, {1, 1});  // 0 -> 1 and the self loop 1 -> 1
  const Tensor u = Tensor::from_vector<double>(2, 2, {0, 0, 1, 2});  // row 0 is the zero vector
  const auto cosine = ops::sddmm(ctx, g, SddmmOp::kCosine, u, u).to_vector<double>();
  CHECK(cosine[0] == 0.0);
  CHECK(cosine[1] == doctest::Approx(1.0).epsilon(1e-15));
  const Tensor grad = Tensor::full(2, 1, 1.0, DType::kF64);
  Tensor d = Tensor::full(2, 2, NAN, DType::kF64);
  ops::sddmm_backward(ctx, g, SddmmOp::kL1, SddmmSide::kU, u, u, grad, d);
  // Edge 0 -> 1: sign(u0 - u1) = (-1, -1); the self loop adds sign(0) = 0.
  CHECK(d.to_vector<double>() == std::vector<double>{-1, -1, 0, 0});
}

TEST_CASE("reference: u_add_v and edge_reduce equal the edge-list and adjacency formulations") {
  const Context ctx = Context::cpu();
  for (const test::GraphCase& graph_case : test::graph_cases()) {
    const std::string& name = graph_case.name;
    const Graph& g = graph_case.graph;
    for (DType dtype : {DType::kF64, DType::kF32}) {
      for (int64_t heads : {1, 3}) {
        for (bool leaky : {false, true}) {
          const uint64_t seed = test::fresh_seed();
          CAPTURE(name);
          CAPTURE(heads);
          CAPTURE(leaky);
          CAPTURE(seed);
          const double slope = 0.2;
          const int64_t n = g.num_nodes(), e_count = g.num_edges();
          const Tensor a_src = test::random_tensor(n, heads, dtype, seed);
          const Tensor a_dst = test::random_tensor(n, heads, dtype, seed + 1);
          const Eigen::MatrixXd s = to_eigen(a_src), d = to_eigen(a_dst);
          const EdgeList el = edge_list(g);
          Eigen::MatrixXd want(e_count, heads);
          for (int64_t e = 0; e < e_count; ++e)
            for (int64_t h = 0; h < heads; ++h) {
              const double z = s(el.src[e], h) + d(el.dst[e], h);
              want(e, h) = leaky && z < 0 ? slope * z : z;
            }
          const ops::UAddVOptions opt{.leaky_relu = leaky, .negative_slope = slope};
          test::check_write_modes(
              [&](Tensor& out, bool acc) {
                ops::UAddVOptions o = opt;
                o.accumulate = acc;
                ops::u_add_v(ctx, g, a_src, a_dst, out, o);
              },
              want, dtype, seed + 2);
          // edge_reduce: row sums (in-edges) and column sums (out-edges) of the adjacency holding
          // w * γ, γ the LeakyReLU slope where the gate (the u_add_v output) is not positive.
          const Tensor gate = ops::u_add_v(ctx, g, a_src, a_dst, opt);
          const Tensor w = test::random_tensor(e_count, heads, dtype, seed + 3);
          Eigen::MatrixXd wg = to_eigen(w);
          const Eigen::MatrixXd gd = to_eigen(gate);
          for (int64_t e = 0; e < e_count; ++e)
            for (int64_t h = 0; h < heads; ++h)
              if (leaky && !(gd(e, h) > 0)) wg(e, h) *= slope;
          const Tensor wg_t = test::from_eigen(wg, DType::kF64);
          Eigen::MatrixXd per_dst(n, heads), per_src(n, heads);
          for (int64_t h = 0; h < heads; ++h) {
            const Eigen::MatrixXd a = dense_adjacency(g, wg_t, h);
            per_dst.col(h) = a.rowwise().sum();
            per_src.col(h) = a.colwise().sum().transpose();
          }
          for (bool transpose : {false, true}) {
            CAPTURE(transpose);
            test::check_write_modes(
                [&](Tensor& out, bool acc) {
                  ops::edge_reduce(ctx, g, w, out,
                                   {.transpose = transpose,
                                    .leaky_gate = leaky ? &gate : nullptr,
                                    .negative_slope = slope,
                                    .accumulate = acc});
                },
                transpose ? per_src : per_dst, dtype, seed + 4);
          }
        }
      }
    }
  }
}

TEST_CASE("reference: edge_map and edge_map_backward equal the elementwise formulas") {
  const Context ctx = Context::cpu();
  for (DType dtype : {DType::kF64, DType::kF32}) {
    const uint64_t seed = test::fresh_seed();
    CAPTURE(seed);
    const Tensor x = test::random_tensor(37, 3, dtype, seed, 0.0, 3.0);  // [E, H]
    const Tensor dy = test::random_tensor(37, 3, dtype, seed + 1);
    const Eigen::ArrayXXd xd = to_eigen(x).array(), dyd = to_eigen(dy).array();
    const ops::EdgeMap exp_neg{.op = kernels::EdgeMapOp::kExpNeg, .scale = 0.25};
    const ops::EdgeMap power{.op = kernels::EdgeMapOp::kPower, .shift = 0.5, .degree = 3.0};
    test::check_write_modes([&](Tensor& y, bool acc) { ops::edge_map(ctx, exp_neg, x, y, acc); },
                            (-0.25 * xd).exp().matrix(), dtype, seed + 2);
    test::check_write_modes([&](Tensor& y, bool acc) { ops::edge_map(ctx, power, x, y, acc); },
                            (xd + 0.5).cube().matrix(), dtype, seed + 3);
    test::check_write_modes(
        [&](Tensor& dx, bool acc) { ops::edge_map_backward(ctx, exp_neg, x, dy, dx, acc); },
        (-0.25 * dyd * (-0.25 * xd).exp()).matrix(), dtype, seed + 4);
    test::check_write_modes(
        [&](Tensor& dx, bool acc) { ops::edge_map_backward(ctx, power, x, dy, dx, acc); },
        (3.0 * dyd * (xd + 0.5).square()).matrix(), dtype, seed + 5);
  }
}

TEST_CASE("reference: sddmm family rejects mismatched inputs with clear messages") {
  const Context ctx = Context::cpu();
  const Graph g = test::tiny_directed();  // 7 nodes, 10 edges
  const Tensor u = Tensor::zeros(7, 6, DType::kF64);
  const Tensor grad = Tensor::zeros(10, 3, DType::kF64);
  Tensor d = Tensor::zeros(7, 6, DType::kF64);
  CHECK_THROWS_WITH_AS(ops::sddmm(ctx, g, SddmmOp::kL1, u, Tensor::zeros(7, 5, DType::kF64), 3),
                       "[sddmm] v is [7, 5] (expected [7, 6])", Error);
  CHECK_THROWS_WITH_AS(ops::sddmm(ctx, g, SddmmOp::kDot, u, u, 4),
                       doctest::Contains("not a multiple of the 4 heads"), Error);
  CHECK_THROWS_WITH_AS(ops::sddmm_backward(ctx, g, SddmmOp::kDot, SddmmSide::kU, u, u,
                                           Tensor::zeros(9, 3, DType::kF64), d),
                       "[sddmm_backward] grad is [9, 3] (expected [10, 3])", Error);
  Tensor d_bad = Tensor::zeros(7, 6, DType::kF32);
  CHECK_THROWS_WITH_AS(ops::sddmm_backward(ctx, g, SddmmOp::kDot, SddmmSide::kV, u, u, grad, d_bad),
                       "[sddmm_backward] d is f32 (expected f64)", Error);
  const Tensor a = Tensor::zeros(7, 2, DType::kF32);
  CHECK_THROWS_WITH_AS(ops::u_add_v(ctx, g, a, Tensor::zeros(6, 2, DType::kF32)),
                       "[u_add_v] a_dst is [6, 2] (expected [7, 2])", Error);
  CHECK_THROWS_WITH_AS(ops::u_add_v(ctx, g, Tensor::zeros(5, 2, DType::kF32), a),
                       "[u_add_v] a_src has 5 rows but the graph has 7 nodes", Error);
  CHECK_THROWS_WITH_AS(ops::u_add_v(ctx, g, a, a, {.leaky_relu = true, .negative_slope = -1}),
                       "[u_add_v] negative_slope is -1 (expected >= 0)", Error);
  CHECK_THROWS_WITH_AS(ops::edge_reduce(ctx, g, Tensor::zeros(11, 2, DType::kF32)),
                       "[edge_reduce] w is [11, 2] (expected [10, 2])", Error);
  const Tensor gate = Tensor::zeros(10, 1, DType::kF32);
  Tensor r = Tensor::zeros(7, 2, DType::kF32);
  CHECK_THROWS_WITH_AS(
      ops::edge_reduce(ctx, g, Tensor::zeros(10, 2, DType::kF32), r, {.leaky_gate = &gate}),
      "[edge_reduce] leaky_gate is [10, 1] (expected [10, 2])", Error);
  Tensor y = Tensor::zeros(10, 2, DType::kF32);
  CHECK_THROWS_WITH_AS(ops::edge_map(ctx, {}, Tensor::zeros(10, 1, DType::kF32), y),
                       "[edge_map] y is [10, 2] (expected [10, 1])", Error);
  CHECK_THROWS_WITH_AS(ops::sddmm(ctx, g, SddmmOp::kDot, Tensor::zeros(7, 2, DType::kI32),
                                  Tensor::zeros(7, 2, DType::kI32)),
                       doctest::Contains("dtype i32 (expected f32 or f64)"), Error);
}
