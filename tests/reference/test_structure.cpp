// The fused structure-KL CPU twin (kernels/structure.h) against an independent dense formulation
// in double (kernel matrix over the adjacency, masked softmax per row, KL per row), and its
// backward against the same loss composed from reference-tested edge functions (SDDMM, edge map,
// edge log-softmax, edge KL) through the tape.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/functions_dense.h"
#include "autograd/functions_graph.h"
#include "autograd/functions_loss.h"
#include "engine/ops_structure.h"
#include "tests/support/checks.h"

using namespace gkd;
using autograd::StructureKernel;
using autograd::StructureKernelKind;
using autograd::Tape;
using autograd::Var;

namespace {

double dense_kernel(const StructureKernel& k, const Eigen::RowVectorXd& x,
                    const Eigen::RowVectorXd& y) {
  switch (k.kind) {
    case StructureKernelKind::kL1Exp:
      return std::exp(-(x - y).cwiseAbs().sum() / k.tau);
    case StructureKernelKind::kLinear:
      return x.dot(y);
    case StructureKernelKind::kPolynomial:
      return std::pow(x.dot(y) + k.shift, k.degree);
    case StructureKernelKind::kRbf:
      return std::exp(-(x - y).squaredNorm() / (2 * k.sigma * k.sigma));
    case StructureKernelKind::kCosine:
      return x.dot(y) / (std::max(x.norm(), 1e-8) * std::max(y.norm(), 1e-8));
  }
  return 0;
}

// kl[v] from dense matrices: A(v, u) = 1 for an edge u -> v.
Eigen::VectorXd dense_kl(const Eigen::MatrixXd& adj, const Eigen::MatrixXd& hs,
                         const Eigen::MatrixXd& ht, const StructureKernel& k) {
  const int64_t n = adj.rows();
  Eigen::VectorXd kl = Eigen::VectorXd::Zero(n);
  for (int64_t v = 0; v < n; ++v) {
    std::vector<double> as, at;
    for (int64_t u = 0; u < n; ++u) {
      if (adj(v, u) == 0) continue;
      as.push_back(dense_kernel(k, hs.row(u), hs.row(v)));
      at.push_back(dense_kernel(k, ht.row(u), ht.row(v)));
    }
    if (as.empty()) continue;
    const auto log_softmax = [](std::vector<double>& a) {
      const double m = *std::max_element(a.begin(), a.end());
      double s = 0;
      for (double x : a) s += std::exp(x - m);
      for (double& x : a) x -= m + std::log(s);
    };
    log_softmax(as);
    log_softmax(at);
    for (size_t i = 0; i < as.size(); ++i) kl(v) += std::exp(at[i]) * (at[i] - as[i]);
  }
  return kl;
}

// The loss composed from edge functions (the pre-fusion formulation).
Var composed_kl(const Graph& g, Var hs, Var ht, const StructureKernel& k) {
  const auto kernel = [&](Var h) {
    using kernels::EdgeMapOp;
    using kernels::SddmmOp;
    switch (k.kind) {
      case StructureKernelKind::kL1Exp:
        return autograd::edge_map(autograd::sddmm(g, SddmmOp::kL1, h, h),
                                  {.op = EdgeMapOp::kExpNeg, .scale = 1.0 / k.tau});
      case StructureKernelKind::kLinear:
        return autograd::sddmm(g, SddmmOp::kDot, h, h);
      case StructureKernelKind::kPolynomial:
        return autograd::edge_map(autograd::sddmm(g, SddmmOp::kDot, h, h),
                                  {.op = EdgeMapOp::kPower, .shift = k.shift, .degree = k.degree});
      case StructureKernelKind::kRbf:
        return autograd::edge_map(
            autograd::sddmm(g, SddmmOp::kSquaredL2, h, h),
            {.op = EdgeMapOp::kExpNeg, .scale = 1.0 / (2 * k.sigma * k.sigma)});
      case StructureKernelKind::kCosine:
        break;
    }
    return autograd::sddmm(g, SddmmOp::kCosine, h, h);
  };
  const Var kl = autograd::edge_kl(g, autograd::edge_log_softmax(g, kernel(ht)),
                                   autograd::edge_log_softmax(g, kernel(hs)));
  return autograd::mean(kl);
}

const StructureKernel kKernels[] = {{.kind = StructureKernelKind::kL1Exp, .tau = 3.0},
                                    {.kind = StructureKernelKind::kLinear},
                                    {.kind = StructureKernelKind::kPolynomial, .shift = 1.5},
                                    {.kind = StructureKernelKind::kRbf, .sigma = 1.3},
                                    {.kind = StructureKernelKind::kCosine}};

}  // namespace

TEST_CASE("reference: structure_kl equals the dense formulation, every kernel, several pairs") {
  const Context ctx = Context::cpu();
  for (const auto& gc : test::graph_cases()) {
    if (gc.graph.num_nodes() > 300) continue;  // the dense formulation is O(N²) per pair
    const Graph& g = gc.graph;
    const int64_t n = g.num_nodes();
    const Eigen::MatrixXd adj = test::dense_adjacency(g);
    for (const StructureKernel& k : kKernels) {
      for (DType dtype : {DType::kF64, DType::kF32}) {
        const uint64_t seed = test::fresh_seed();
        CAPTURE(gc.name);
        CAPTURE(static_cast<int>(k.kind));
        CAPTURE(seed);
        ops::StructurePairs pairs;
        for (int q = 0; q < 3; ++q) {
          pairs.emplace_back(test::random_tensor(n, 4 + q, dtype, seed + 2 * q, -1.0, 1.0),
                             test::random_tensor(n, 6 - q, dtype, seed + 2 * q + 1, -1.0, 1.0));
        }
        const kernels::StructureKernelParams params{
            .op = static_cast<kernels::StructureKernelOp>(k.kind),
            .tau = k.tau,
            .shift = k.shift,
            .degree = k.degree,
            .sigma = k.sigma};
        const ops::StructureKlOutput out = ops::structure_kl(ctx, g, pairs, params);
        const Eigen::MatrixXd got = test::to_eigen(out.kl);  // [Q, N]
        const double tol = dtype == DType::kF64 ? 1e-10 : 1e-4;
        for (int q = 0; q < 3; ++q) {
          const Eigen::VectorXd want =
              dense_kl(adj, test::to_eigen(pairs[q].first), test::to_eigen(pairs[q].second), k);
          CHECK(test::close_ratio(got.row(q).transpose(), want, tol, tol) <= 1.0);
        }
      }
    }
  }
}

TEST_CASE("reference: structure_kl_backward equals the composed edge functions, both sides") {
  const Context ctx = Context::cpu();
  for (const auto& gc : test::graph_cases()) {
    const Graph& g = gc.graph;
    const int64_t n = g.num_nodes();
    for (const StructureKernel& k : kKernels) {
      const uint64_t seed = test::fresh_seed();
      CAPTURE(gc.name);
      CAPTURE(static_cast<int>(k.kind));
      CAPTURE(seed);
      const Tensor hs = test::random_tensor(n, 5, DType::kF64, seed, -1.0, 1.0);
      const Tensor ht = test::random_tensor(n, 3, DType::kF64, seed + 1, -1.0, 1.0);
      Tape fused(ctx), composed(ctx);
      Var fs = fused.leaf(hs), ft = fused.leaf(ht);
      Var cs = composed.leaf(hs), ct = composed.leaf(ht);
      const Var lf = autograd::structure_kl(g, fs, ft, k);
      const Var lc = composed_kl(g, cs, ct, k);
      CHECK(lf.value().item<double>() == doctest::Approx(lc.value().item<double>()).epsilon(1e-9));
      fused.backward(lf);
      composed.backward(lc);
      CHECK(test::close_ratio(test::to_eigen(fs.grad()), test::to_eigen(cs.grad()), 1e-8, 1e-12) <=
            1.0);
      CHECK(test::close_ratio(test::to_eigen(ft.grad()), test::to_eigen(ct.grad()), 1e-8, 1e-12) <=
            1.0);
    }
  }
}

TEST_CASE("reference: structure_kl pairs sharing sides equal the pairs computed one by one") {
  // An online cohort's pair list: every student's layer against every peer's, a peer's reference
  // a constant on the same storage as its own hidden state, and a self pair. The kernel computes
  // each distinct side once and sums the gradients routed to one side; the results must equal
  // one-pair calls.
  const Context ctx = Context::cpu();
  for (const auto& gc : test::graph_cases()) {
    for (const StructureKernel& k : kKernels) {
      const uint64_t seed = test::fresh_seed();
      CAPTURE(gc.name);
      CAPTURE(static_cast<int>(k.kind));
      CAPTURE(seed);
      const int64_t n = gc.graph.num_nodes();
      std::vector<Tensor> h;
      for (int i = 0; i < 3; ++i)
        h.push_back(test::random_tensor(n, 4, DType::kF64, seed + i, -1.0, 1.0));
      const std::vector<std::pair<int, int>> layout = {{0, 1}, {0, 2}, {1, 0}, {2, 0}, {1, 1}};
      const Tensor w =
          test::random_tensor(static_cast<int64_t>(layout.size()), 1, DType::kF64, seed + 9);
      std::vector<Eigen::MatrixXd> want_grad(3, Eigen::MatrixXd::Zero(n, 4));
      std::vector<double> want_kl;
      for (size_t q = 0; q < layout.size(); ++q) {
        Tape tape(ctx);
        Var s = tape.leaf(h[layout[q].first]);
        Var t = tape.constant(h[layout[q].second]);
        const Var l = autograd::structure_kl(gc.graph, s, t, k);
        want_kl.push_back(l.value().item<double>());
        tape.backward(autograd::scale(l, w.to_vector<double>()[q]));
        want_grad[layout[q].first] += test::to_eigen(s.grad());
      }
      Tape tape(ctx);
      std::vector<Var> leaves;
      for (const Tensor& t : h) leaves.push_back(tape.leaf(t));
      std::vector<std::pair<Var, Var>> pairs;
      for (const auto& [a, b] : layout) pairs.emplace_back(leaves[a], tape.constant(h[b]));
      const Var kl = autograd::structure_kl(gc.graph, pairs, k);  // [Q, 1]
      for (size_t q = 0; q < layout.size(); ++q) {
        CHECK(kl.value().to_vector<double>()[q] == doctest::Approx(want_kl[q]).epsilon(1e-12));
      }
      tape.backward(autograd::sum(autograd::mul(kl, tape.constant(w))));
      for (int i = 0; i < 3; ++i) {
        CAPTURE(i);
        CHECK(test::close_ratio(test::to_eigen(leaves[i].grad()), want_grad[i], 1e-10, 1e-13) <=
              1.0);
      }
    }
  }
}

TEST_CASE("reference: cohort_kl equals K(K-1) separate KL terms, values and gradients") {
  const Context ctx = Context::cpu();
  for (int64_t k_count : {1, 2, 4}) {
    for (double t : {1.0, 3.0}) {
      const uint64_t seed = test::fresh_seed();
      CAPTURE(k_count);
      CAPTURE(t);
      CAPTURE(seed);
      const int64_t n = 9, c = 5;
      std::vector<Tensor> z;
      for (int64_t k = 0; k < k_count; ++k) {
        z.push_back(test::random_tensor(n, c, DType::kF64, seed + k, -3.0, 3.0));
      }
      // Dense formulation: q = softmax(z / T), kl[m, v] = T²/(K-1) Σ_p Σ_c q_p (log q_p - log q_m).
      std::vector<Eigen::MatrixXd> logq;
      for (const Tensor& zk : z) {
        Eigen::MatrixXd s = test::to_eigen(zk) / t;
        for (int64_t v = 0; v < n; ++v) {
          const double m = s.row(v).maxCoeff();
          const double lse = m + std::log((s.row(v).array() - m).exp().sum());
          s.row(v).array() -= lse;
        }
        logq.push_back(s);
      }
      const ops::CohortKlOutput out = ops::cohort_kl(ctx, z, t);
      for (int64_t m = 0; m < k_count; ++m) {
        for (int64_t v = 0; v < n; ++v) {
          double want = 0;
          for (int64_t p = 0; p < k_count; ++p) {
            if (p == m) continue;
            want +=
                (logq[p].row(v).array().exp() * (logq[p].row(v) - logq[m].row(v)).array()).sum();
          }
          want = k_count > 1 ? t * t * want / double(k_count - 1) : 0.0;
          CHECK(test::to_eigen(out.kl)(m, v) == doctest::Approx(want).epsilon(1e-12));
        }
      }
      // Gradients against kl_div with detached peers, student by student.
      Tape fused(ctx);
      std::vector<Var> fz;
      for (const Tensor& zk : z) fz.push_back(fused.leaf(zk));
      fused.backward(autograd::sum(autograd::cohort_kl(fz, t)));
      for (int64_t m = 0; m < k_count && k_count > 1; ++m) {
        Tape one(ctx);
        Var zm = one.leaf(z[m]);
        Var total;
        for (int64_t p = 0; p < k_count; ++p) {
          if (p == m) continue;
          Var term = autograd::kl_div(zm, one.constant(z[p]), t);
          total = total.defined() ? autograd::add(total, term) : term;
        }
        one.backward(autograd::scale(total, 1.0 / double(k_count - 1)));
        CHECK(test::close_ratio(test::to_eigen(fz[m].grad()), test::to_eigen(zm.grad()), 1e-10,
                                1e-12) <= 1.0);
      }
    }
  }
}
