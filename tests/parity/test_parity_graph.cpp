// CUDA twins of SpMM, the SDDMM-shaped edge kernels, edge softmax and edge KL against their CPU
// twins, on every graph fixture (an edgeless graph, isolated nodes, a self loop, a random graph and
// a hub row) plus a hub of 12,000 in-edges: fresh random inputs, outputs poisoned with NaN (or
// holding values, when accumulating), tolerances growing with the row length.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/ops_graph.h"
#include "engine/ops_structure.h"
#include "kernels/variants.h"
#include "tests/support/fixtures.h"

using namespace gkd;
using kernels::SddmmOp;
using kernels::SddmmSide;
using test::close_ratio;
using test::to_eigen;

namespace {

// The fixtures and a hub: node 0 receives an edge from each of 12,000 others.
std::vector<test::GraphCase> graphs() {
  std::vector<test::GraphCase> cases = test::graph_cases();
  std::vector<int32_t> src, dst;
  for (int32_t u = 1; u <= 12000; ++u) src.push_back(u), dst.push_back(0);
  cases.push_back({"hub12000", Graph::from_edges(12001, src, dst)});
  return cases;
}

// The largest in- or out-degree: reductions over a row grow their error with it.
double tolerance(const Graph& g) {
  int64_t longest = 1;
  for (const bool out : {false, true}) {
    const std::vector<int64_t>& indptr = out ? g.host_out_indptr() : g.host_in_indptr();
    for (size_t v = 0; v + 1 < indptr.size(); ++v) {
      longest = std::max(longest, indptr[v + 1] - indptr[v]);
    }
  }
  return 1e-5 * std::sqrt(double(longest));
}

Tensor poisoned(int64_t rows, int64_t cols) {
  return Tensor::full(rows, cols, NAN, DType::kF32, Device::kCUDA);
}

void check_close(const Tensor& cuda, const Tensor& cpu, double tol) {
  CHECK(close_ratio(to_eigen(cuda), to_eigen(cpu), tol, tol) <= 1.0);
}

}  // namespace

TEST_CASE("parity: spmm over in- and out-edges, weighted per head, mean, accumulating") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const test::GraphCase& c : graphs()) {
    const Graph dg = c.graph.to(Device::kCUDA);
    const int64_t n = c.graph.num_nodes(), e = c.graph.num_edges();
    const double tol = tolerance(c.graph);
    for (const int64_t heads : {int64_t{1}, int64_t{3}}) {
      for (const int64_t f : {int64_t{1}, int64_t{5}, int64_t{40}}) {
        const uint64_t seed = test::fresh_seed();
        CAPTURE(c.name);
        CAPTURE(heads);
        CAPTURE(f);
        CAPTURE(seed);
        const Tensor x = test::random_tensor(n, heads * f, DType::kF32, seed);
        const Tensor w = test::random_tensor(e, heads, DType::kF32, seed + 1);
        const Tensor y0 = test::random_tensor(n, heads * f, DType::kF32, seed + 2);
        for (const bool transpose : {false, true}) {
          for (const bool mean : {false, true}) {
            for (const bool accumulate : {false, true}) {
              const ops::SpmmOptions o{
                  .transpose = transpose, .mean = mean, .accumulate = accumulate};
              Tensor want = y0.clone();
              ops::spmm(cpu, c.graph, x, w, want, o);
              Tensor got = accumulate ? y0.to(Device::kCUDA) : poisoned(n, heads * f);
              ops::spmm(gpu, dg, x.to(Device::kCUDA), w.to(Device::kCUDA), got, o);
              check_close(got, want, tol);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("parity: every spmm variant on every shape it supports") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  // Every device graph lives to the end: the cuSPARSE plan is keyed by operand addresses, which a
  // freed graph's successor could take over (kernels/cuda/spmm.cu).
  const std::vector<test::GraphCase> cases = graphs();
  std::vector<Graph> device_graphs;
  for (const test::GraphCase& c : cases) device_graphs.push_back(c.graph.to(Device::kCUDA));
  for (const kernels::cuda::SpmmVariant& variant : kernels::cuda::spmm_variants()) {
    int64_t covered = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
      const test::GraphCase& c = cases[i];
      const Graph& dg = device_graphs[i];
      const int64_t n = c.graph.num_nodes(), e = c.graph.num_edges();
      const double tol = tolerance(c.graph);
      for (const int64_t heads : {int64_t{0}, int64_t{1}, int64_t{2}}) {  // 0: no weights
        for (const int64_t cols : {4, 8, 16, 36, 64, 200, 512}) {
          if (heads > 1 && cols % heads != 0) continue;
          const uint64_t seed = test::fresh_seed();
          CAPTURE(variant.name);
          CAPTURE(c.name);
          CAPTURE(heads);
          CAPTURE(cols);
          CAPTURE(seed);
          const Tensor x = test::random_tensor(n, cols, DType::kF32, seed).to(Device::kCUDA);
          const Tensor w =
              heads == 0 ? Tensor()
                         : test::random_tensor(e, heads, DType::kF32, seed + 1).to(Device::kCUDA);
          const Tensor y0 = test::random_tensor(n, cols, DType::kF32, seed + 2);
          for (const bool transpose : {false, true}) {
            for (const bool mean : {false, true}) {
              for (const bool accumulate : {false, true}) {
                Tensor got = accumulate ? y0.to(Device::kCUDA) : poisoned(n, cols);
                const kernels::SpmmArgs<float> args{transpose ? dg.out_csr() : dg.in_csr(),
                                                    w.defined() ? w.data<float>() : nullptr,
                                                    std::max<int64_t>(heads, 1),
                                                    mean,
                                                    x.cview<float>(),
                                                    got.view<float>(),
                                                    accumulate,
                                                    variant.name};
                if (!variant.supports(args)) continue;
                ++covered;
                const ops::SpmmOptions o{.transpose = transpose,
                                         .mean = mean,
                                         .accumulate = accumulate,
                                         .variant = variant.name};
                Tensor want = y0.clone();
                ops::spmm(cpu, c.graph, x.to(Device::kCPU), w.defined() ? w.to(Device::kCPU) : w,
                          want, o);
                ops::spmm(gpu, dg, x, w, got, o);
                check_close(got, want, tol);
              }
            }
          }
        }
      }
    }
    CAPTURE(variant.name);
    CHECK(covered > 0);
  }
}

TEST_CASE("parity: every sddmm variant on every shape it supports") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  // Device graphs live to the end, as in the spmm case (the cuSPARSE plan is keyed by address).
  const std::vector<test::GraphCase> cases = graphs();
  std::vector<Graph> device_graphs;
  for (const test::GraphCase& c : cases) device_graphs.push_back(c.graph.to(Device::kCUDA));
  for (const kernels::cuda::SddmmVariant& variant : kernels::cuda::sddmm_variants()) {
    int64_t covered = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
      const test::GraphCase& c = cases[i];
      const Graph& dg = device_graphs[i];
      const int64_t n = c.graph.num_nodes(), e = c.graph.num_edges();
      for (const int64_t heads : {int64_t{1}, int64_t{2}}) {
        for (const int64_t f : {1, 16, 100}) {
          for (const SddmmOp op :
               {SddmmOp::kDot, SddmmOp::kL1, SddmmOp::kSquaredL2, SddmmOp::kCosine}) {
            for (const bool accumulate : {false, true}) {
              const uint64_t seed = test::fresh_seed();
              CAPTURE(variant.name);
              CAPTURE(c.name);
              CAPTURE(heads);
              CAPTURE(f);
              CAPTURE(static_cast<int>(op));
              CAPTURE(accumulate);
              CAPTURE(seed);
              const Tensor u = test::random_away_from_zero(n, heads * f, DType::kF32, seed);
              const Tensor v = test::random_away_from_zero(n, heads * f, DType::kF32, seed + 1);
              const Tensor out0 = test::random_tensor(e, heads, DType::kF32, seed + 2);
              const Tensor du = u.to(Device::kCUDA), dv = v.to(Device::kCUDA);
              Tensor got = accumulate ? out0.to(Device::kCUDA) : poisoned(e, heads);
              const kernels::SddmmArgs<float> args{
                  dg.in_csr(),       op,        heads, du.cview<float>(), dv.cview<float>(),
                  got.view<float>(), accumulate};
              if (!variant.supports(args)) continue;
              ++covered;
              Tensor want = out0.clone();
              ops::sddmm(cpu, c.graph, op, u, v, want, accumulate);
              ops::sddmm(gpu, dg, op, du, dv, got, accumulate, variant.name);
              check_close(got, want, 1e-5 * std::sqrt(double(f)));
            }
          }
        }
      }
    }
    CAPTURE(variant.name);
    CHECK(covered > 0);
  }
}

TEST_CASE("parity: every edge softmax variant, plain and log, 1 and 8 heads") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const kernels::cuda::EdgeSoftmaxVariant& variant : kernels::cuda::edge_softmax_variants()) {
    for (const test::GraphCase& c : graphs()) {
      const Graph dg = c.graph.to(Device::kCUDA);
      const int64_t e = c.graph.num_edges();
      for (const int64_t heads : {int64_t{1}, int64_t{8}}) {
        for (const bool log : {false, true}) {
          const uint64_t seed = test::fresh_seed();
          CAPTURE(variant.name);
          CAPTURE(c.name);
          CAPTURE(heads);
          CAPTURE(log);
          CAPTURE(seed);
          const Tensor z = test::random_tensor(e, heads, DType::kF32, seed, -5.0, 5.0);
          Tensor want = Tensor::zeros(e, heads, DType::kF32);
          ops::edge_softmax(cpu, c.graph, z, want, log);
          Tensor got = poisoned(e, heads);
          ops::edge_softmax(gpu, dg, z.to(Device::kCUDA), got, log, variant.name);
          check_close(got, want, tolerance(c.graph));
        }
      }
    }
  }
}

TEST_CASE("parity: sddmm and its backward for every op and both sides") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const test::GraphCase& c : graphs()) {
    const Graph dg = c.graph.to(Device::kCUDA);
    const int64_t n = c.graph.num_nodes(), e = c.graph.num_edges();
    const double tol = tolerance(c.graph);
    for (const int64_t heads : {int64_t{1}, int64_t{2}}) {
      const int64_t f = 33;
      const uint64_t seed = test::fresh_seed();
      CAPTURE(c.name);
      CAPTURE(heads);
      CAPTURE(seed);
      const Tensor u = test::random_away_from_zero(n, heads * f, DType::kF32, seed);
      const Tensor v = test::random_away_from_zero(n, heads * f, DType::kF32, seed + 1);
      const Tensor grad = test::random_tensor(e, heads, DType::kF32, seed + 2);
      for (const SddmmOp op :
           {SddmmOp::kDot, SddmmOp::kL1, SddmmOp::kSquaredL2, SddmmOp::kCosine}) {
        CAPTURE(static_cast<int>(op));
        Tensor want = Tensor::zeros(e, heads, DType::kF32);
        ops::sddmm(cpu, c.graph, op, u, v, want);
        Tensor got = poisoned(e, heads);
        ops::sddmm(gpu, dg, op, u.to(Device::kCUDA), v.to(Device::kCUDA), got);
        check_close(got, want, 1e-5 * std::sqrt(double(f)));
        for (const SddmmSide side : {SddmmSide::kU, SddmmSide::kV}) {
          Tensor want_d = Tensor::zeros(n, heads * f, DType::kF32);
          ops::sddmm_backward(cpu, c.graph, op, side, u, v, grad, want_d);
          Tensor got_d = poisoned(n, heads * f);
          ops::sddmm_backward(gpu, dg, op, side, u.to(Device::kCUDA), v.to(Device::kCUDA),
                              grad.to(Device::kCUDA), got_d);
          check_close(got_d, want_d, tol);
        }
      }
    }
  }
}

TEST_CASE("parity: u_add_v, edge_reduce and the edge maps") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const test::GraphCase& c : graphs()) {
    const Graph dg = c.graph.to(Device::kCUDA);
    const int64_t n = c.graph.num_nodes(), e = c.graph.num_edges(), heads = 4;
    const double tol = tolerance(c.graph);
    const uint64_t seed = test::fresh_seed();
    CAPTURE(c.name);
    CAPTURE(seed);
    const Tensor a_src = test::random_tensor(n, heads, DType::kF32, seed);
    const Tensor a_dst = test::random_tensor(n, heads, DType::kF32, seed + 1);
    Tensor gate = Tensor::zeros(e, heads, DType::kF32);
    for (const bool leaky : {false, true}) {
      const ops::UAddVOptions o{.leaky_relu = leaky, .negative_slope = 0.2};
      Tensor want = Tensor::zeros(e, heads, DType::kF32);
      ops::u_add_v(cpu, c.graph, a_src, a_dst, want, o);
      Tensor got = poisoned(e, heads);
      ops::u_add_v(gpu, dg, a_src.to(Device::kCUDA), a_dst.to(Device::kCUDA), got, o);
      check_close(got, want, 1e-6);
      if (leaky) gate = want;
    }
    const Tensor w = test::random_tensor(e, heads, DType::kF32, seed + 2);
    const Tensor dgate = gate.to(Device::kCUDA);
    for (const bool transpose : {false, true}) {
      for (const bool gated : {false, true}) {
        ops::EdgeReduceOptions o{.transpose = transpose, .negative_slope = 0.2};
        o.leaky_gate = gated ? &gate : nullptr;
        Tensor want = Tensor::zeros(n, heads, DType::kF32);
        ops::edge_reduce(cpu, c.graph, w, want, o);
        o.leaky_gate = gated ? &dgate : nullptr;
        Tensor got = poisoned(n, heads);
        ops::edge_reduce(gpu, dg, w.to(Device::kCUDA), got, o);
        check_close(got, want, tol);
      }
    }
    const Tensor x = test::random_tensor(e, heads, DType::kF32, seed + 3, 0.1, 3.0);
    for (const ops::EdgeMap map :
         {ops::EdgeMap{.op = kernels::EdgeMapOp::kExpNeg, .scale = 0.7},
          ops::EdgeMap{.op = kernels::EdgeMapOp::kPower, .shift = 1.0, .degree = 2.5}}) {
      Tensor want = Tensor::zeros(e, heads, DType::kF32);
      ops::edge_map(cpu, map, x, want);
      Tensor got = poisoned(e, heads);
      ops::edge_map(gpu, map, x.to(Device::kCUDA), got);
      check_close(got, want, 1e-6);
      Tensor want_dx = Tensor::zeros(e, heads, DType::kF32);
      ops::edge_map_backward(cpu, map, x, w, want_dx);
      Tensor got_dx = poisoned(e, heads);
      ops::edge_map_backward(gpu, map, x.to(Device::kCUDA), w.to(Device::kCUDA), got_dx);
      check_close(got_dx, want_dx, 1e-6);
    }
  }
}

TEST_CASE("parity: edge softmax, its log form and backward, and edge KL") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  for (const test::GraphCase& c : graphs()) {
    const Graph dg = c.graph.to(Device::kCUDA);
    const int64_t n = c.graph.num_nodes(), e = c.graph.num_edges(), heads = 3;
    const double tol = tolerance(c.graph);
    const uint64_t seed = test::fresh_seed();
    CAPTURE(c.name);
    CAPTURE(seed);
    const Tensor z = test::random_tensor(e, heads, DType::kF32, seed, -4.0, 4.0);
    const Tensor dy = test::random_tensor(e, heads, DType::kF32, seed + 1);
    for (const bool log : {false, true}) {
      Tensor want = Tensor::zeros(e, heads, DType::kF32);
      ops::edge_softmax(cpu, c.graph, z, want, log);
      Tensor got = poisoned(e, heads);
      ops::edge_softmax(gpu, dg, z.to(Device::kCUDA), got, log);
      check_close(got, want, tol);
      Tensor want_dz = Tensor::zeros(e, heads, DType::kF32);
      ops::edge_softmax_backward(cpu, c.graph, want, dy, want_dz, log);
      Tensor got_dz = poisoned(e, heads);
      ops::edge_softmax_backward(gpu, dg, want.to(Device::kCUDA), dy.to(Device::kCUDA), got_dz,
                                 log);
      check_close(got_dz, want_dz, tol);
    }
    // KL between two log-softmaxes, and both gradients.
    const Tensor lp = ops::edge_softmax(cpu, c.graph, z, true);
    const Tensor lq = ops::edge_softmax(
        cpu, c.graph, test::random_tensor(e, heads, DType::kF32, seed + 2, -4.0, 4.0), true);
    Tensor want_kl = Tensor::zeros(n, heads, DType::kF32);
    ops::edge_kl(cpu, c.graph, lp, lq, want_kl);
    Tensor got_kl = poisoned(n, heads);
    ops::edge_kl(gpu, dg, lp.to(Device::kCUDA), lq.to(Device::kCUDA), got_kl);
    check_close(got_kl, want_kl, tol);
    const Tensor dkl = test::random_tensor(n, heads, DType::kF32, seed + 3);
    Tensor want_dlp = Tensor::zeros(e, heads, DType::kF32), want_dlq = want_dlp.clone();
    ops::edge_kl_backward(cpu, c.graph, lp, lq, dkl, &want_dlp, &want_dlq);
    Tensor got_dlp = poisoned(e, heads), got_dlq = poisoned(e, heads);
    ops::edge_kl_backward(gpu, dg, lp.to(Device::kCUDA), lq.to(Device::kCUDA),
                          dkl.to(Device::kCUDA), &got_dlp, &got_dlq);
    check_close(got_dlp, want_dlp, 1e-5);
    check_close(got_dlq, want_dlq, 1e-5);
  }
}

TEST_CASE("parity: the fused structure KL for every kernel, pairs sharing sides and outputs") {
  const Context cpu = Context::cpu(), gpu = Context::cuda();
  using Op = kernels::StructureKernelOp;
  for (const test::GraphCase& c : graphs()) {
    if (c.graph.num_nodes() > 5000) continue;  // O(degree · D) per gradient element: keep it short
    const Graph dg = c.graph.to(Device::kCUDA);
    const int64_t n = c.graph.num_nodes();
    const uint64_t seed = test::fresh_seed();
    CAPTURE(c.name);
    CAPTURE(seed);
    // Three feature views: two students of width 6 and a reference of width 9; the pairs share
    // sides (a cohort's layout) and the students' gradients share outputs.
    const Tensor a = test::random_tensor(n, 6, DType::kF32, seed, -0.5, 0.5);
    const Tensor b = test::random_tensor(n, 6, DType::kF32, seed + 1, -0.5, 0.5);
    const Tensor r = test::random_tensor(n, 9, DType::kF32, seed + 2, -0.5, 0.5);
    const ops::StructurePairs pairs = {{a, r}, {b, r}, {a, b}};
    ops::StructurePairs pairs_gpu;
    for (const auto& p : pairs)
      pairs_gpu.emplace_back(p.first.to(Device::kCUDA), p.second.to(Device::kCUDA));
    const double tol = tolerance(c.graph);
    for (const Op op : {Op::kL1Exp, Op::kLinear, Op::kPolynomial, Op::kRbf, Op::kCosine}) {
      CAPTURE(static_cast<int>(op));
      const kernels::StructureKernelParams k{.op = op, .tau = 2.0, .sigma = 1.5};
      const ops::StructureKlOutput want = ops::structure_kl(cpu, c.graph, pairs, k);
      const ops::StructureKlOutput got = ops::structure_kl(gpu, dg, pairs_gpu, k);
      check_close(got.kl, want.kl, tol);
      check_close(got.coef_s, want.coef_s, tol);
      check_close(got.coef_t, want.coef_t, tol);
      const Tensor dkl = test::random_tensor(3, n, DType::kF32, seed + 3);
      Tensor da = test::random_tensor(n, 6, DType::kF32, seed + 4), db = da.clone();
      Tensor da_gpu = da.to(Device::kCUDA), db_gpu = db.to(Device::kCUDA);
      // Pair 0 and 2 both write student a's gradient; pair 2's reference b writes db.
      ops::structure_kl_backward(cpu, c.graph, pairs, k, dkl, want, {&da, &db, &da},
                                 {nullptr, nullptr, &db});
      ops::structure_kl_backward(gpu, dg, pairs_gpu, k, dkl.to(Device::kCUDA), got,
                                 {&da_gpu, &db_gpu, &da_gpu}, {nullptr, nullptr, &db_gpu});
      check_close(da_gpu, da, tol);
      check_close(db_gpu, db, tol);
    }
  }
}
