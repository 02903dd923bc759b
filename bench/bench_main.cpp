// gkd-bench: the kernel lab. `list` names the kernels and the CUDA SpMM variants; `cpu` times a
// CPU twin on a benchmark graph; `gpu` checks every CUDA variant of an op against the CPU twin and
// times the correct ones (bench/bench_gpu.cpp).
#include <fmt/core.h>

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "bench/bench_gpu.h"
#include "engine/context.h"
#include "engine/error.h"
#include "engine/ops_graph.h"
#include "engine/sparse_matrix.h"
#include "kernels/registry.h"
#include "kernels/variants.h"

namespace {

constexpr const char* kUsage = R"(usage: gkd-bench list
       gkd-bench cpu spmm|sddmm|sparse_dropout|edge_softmax [--graph G] [--feat F] [--repeat R]
                 [--weighted true] [--heads H] [--p P] [graph options]
       gkd-bench gpu spmm|sddmm|edge_softmax [--graph G,...] [--feat F,...] [--heads H]
                 [--variants V,...] [--repeat R] [--check-rows S] [--format table|csv|jsonl]
                 [graph options]
       gkd-bench gpu gather [--table-mb MB,...] [--feat F,...] [--repeat R] [--format ...]

list   every kernel of kernels/kernels.def, whether its CUDA twin exists, and the CUDA
       variants (SpMM, SDDMM, edge softmax) of this build
cpu    median time of a CPU twin over R runs (default 10), with the bandwidth implied by the
       op's bytes (kernels/<op>.h); --weighted true gives SpMM a weight per edge; SDDMM
       reduces F features as H heads of F / H (default 1); sparse_dropout drops P (default
       0.6) of the graph's adjacency as a sparse feature matrix, and also times X·W over F
       columns with every entry and with the kept ones; edge_softmax normalises H (default 8)
       random logits per edge over each node's in-edges, and also times its backward
gpu    for every graph and width: each variant's output on S sampled rows (default 2048, the
       longest row included) against the CPU twin, then, for the correct ones only, the median
       of R runs (default 20, after 3 warm-ups) timed with CUDA events, cold (L2 flushed before
       each run) and warm; bandwidth against the compulsory-bytes model and as a fraction of the
       card's measured copy bandwidth, GFLOP/s, and for SpMM and SDDMM the ratio to cuSPARSE.
       Exits 1 when a variant was wrong. `gather` measures random row gathers (2^22 rows of F
       floats) from tables of the given sizes (default 16 and 4096 MB: inside and far outside
       L2), the cache-gather ceiling of the SpMM roofline.

graphs (--graph): csbm (default; --nodes, --degree), rmat (power law; --scale, --edge-factor),
R-MAT graphs at the scale of ogbn-arxiv (2^17 nodes, 8 draws per node), Reddit (2^18, 200)
and ogbn-products (2^21, 16): arxiv | reddit | products, or a node-classification .npz path
)";

// The median of `repeat` timed runs of fn, after one warm-up run.
double median_ms(const std::function<void()>& fn, int64_t repeat) {
  fn();
  std::vector<double> ms;
  for (int64_t r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return gkd::bench::median(ms);
}

int run_cpu(const std::string& op, int argc, char** argv) {
  using gkd::bench::int_flag;
  const int64_t f = int_flag(argc, argv, "--feat", 64),
                repeat = int_flag(argc, argv, "--repeat", 10);
  const gkd::Graph g =
      gkd::bench::make_graph(gkd::bench::flag(argc, argv, "--graph", "csbm"), argc, argv);
  const gkd::Context ctx = gkd::Context::cpu();
  const int64_t n = g.num_nodes(), e = g.num_edges();
  gkd::Tensor x = gkd::Tensor::full(n, f, 0.5, gkd::DType::kF32);  // [N, F]
  std::function<void()> fn;
  double bytes = 0;
  std::string width = fmt::format("feat={}", f);  // of the timed op's dense operand
  gkd::Tensor out;
  // --weighted: one weight per edge (a GCN's normalised adjacency, a sparse feature matrix).
  const bool weighted = gkd::bench::flag(argc, argv, "--weighted", "false") == "true";
  const gkd::Tensor w =
      weighted ? gkd::Tensor::full(e, 1, 0.25, gkd::DType::kF32) : gkd::Tensor();  // [E, 1]
  // sparse_dropout: the graph's adjacency as a sparse feature matrix, and each run's stream;
  // edge_softmax: its logits (declared here: fn outlives the branch that sets them).
  gkd::SparseMatrix a;
  uint64_t stream = 0;
  gkd::Tensor z;  // edge_softmax's logits
  if (op == "spmm") {
    out = gkd::Tensor::empty(n, f, gkd::DType::kF32);  // [N, F]
    fn = [&] { gkd::ops::spmm(ctx, g, x, w, out); };
    bytes = 8.0 * (n + 1) + (weighted ? 8.0 : 4.0) * e + 4.0 * e * f + 4.0 * n * f;
  } else if (op == "sddmm") {
    const int64_t heads = int_flag(argc, argv, "--heads", 1);
    out = gkd::Tensor::empty(e, heads, gkd::DType::kF32);  // [E, H]
    fn = [&] { gkd::ops::sddmm(ctx, g, gkd::kernels::SddmmOp::kDot, x, x, out); };
    bytes = 8.0 * (n + 1) + 4.0 * e + 4.0 * n * f + 4.0 * e * f + 4.0 * e * heads;
  } else if (op == "sparse_dropout") {
    const float p = std::stof(gkd::bench::flag(argc, argv, "--p", "0.6"));
    const gkd::kernels::CsrView csr = g.in_csr();  // the benchmark graph is on the CPU
    a = gkd::SparseMatrix::from_csr(n, n, std::vector<int64_t>(csr.indptr, csr.indptr + n + 1),
                                    std::vector<int32_t>(csr.indices, csr.indices + e),
                                    gkd::Tensor::full(e, 1, 0.25, gkd::DType::kF32));  // [N, N]
    fn = [&, p] { a.dropout(ctx, p, 1, stream++); };
    bytes = 48.0 * e + 16.0 * (n + 1);  // kernels/sparse.h
    // What the dropout buys: X·W over every entry and over the kept ones (F columns).
    const gkd::SparseMatrix kept = a.dropout(ctx, p, 1, 0);
    out = gkd::Tensor::empty(n, f, gkd::DType::kF32);  // [N, F]
    const double all_ms = median_ms([&] { gkd::ops::sparse_matmul(ctx, a, x, out); }, repeat);
    const double kept_ms = median_ms([&] { gkd::ops::sparse_matmul(ctx, kept, x, out); }, repeat);
    fmt::print(
        "op=sparse_matmul device=cpu feat={} all_entries_ms={:.3f} kept_entries_ms={:.3f} "
        "kept={}\n",
        f, all_ms, kept_ms, kept.nnz());
  } else if (op == "edge_softmax") {
    // Logits uniform in [-4, 4) (GAT's LeakyReLU scores span a few units), H heads per edge; the
    // forward pass is timed below, its backward here.
    const int64_t heads = int_flag(argc, argv, "--heads", 8);
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> logit(-4, 4);
    std::vector<float> values(static_cast<size_t>(e * heads));
    for (float& v : values) v = logit(rng);
    z = gkd::Tensor::from_vector(e, heads, values);        // [E, H]
    out = gkd::Tensor::empty(e, heads, gkd::DType::kF32);  // [E, H]
    fn = [&] { gkd::ops::edge_softmax(ctx, g, z, out); };
    bytes = 8.0 * (n + 1) + 8.0 * e * heads;  // the streaming floor, as gkd-bench gpu's
    // The backward's upstream gradient: any values do, the logits are at hand.
    const gkd::Tensor p = gkd::ops::edge_softmax(ctx, g, z), dp = z;
    gkd::Tensor dz = gkd::Tensor::empty(e, heads, gkd::DType::kF32);  // [E, H]
    const double backward_ms =
        median_ms([&] { gkd::ops::edge_softmax_backward(ctx, g, p, dp, dz); }, repeat);
    fmt::print("op=edge_softmax_backward device=cpu heads={} median_ms={:.3f}\n", heads,
               backward_ms);
    width = fmt::format("heads={}", heads);
  } else {
    fmt::print(stderr,
               "gkd-bench: unknown op '{}' (expected spmm, sddmm, sparse_dropout or "
               "edge_softmax)\n{}",
               op, kUsage);
    return 2;
  }
  const double t = median_ms(fn, repeat);
  fmt::print("op={} device=cpu nodes={} edges={} {} median_ms={:.3f} GB/s={:.2f}\n", op, n, e,
             width, t, bytes / t / 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "list") {
      for (const auto& k : gkd::kernels::kKernels) {
        fmt::print("{:<22} cuda_twin={:<3} {}\n", k.name, k.has_cuda_twin ? "yes" : "no", k.doc);
      }
      for (const auto& v : gkd::kernels::cuda::spmm_variants()) {
        fmt::print("spmm variant  {:<10} {}{}\n", v.name, v.doc, v.baseline ? " [baseline]" : "");
      }
      for (const auto& v : gkd::kernels::cuda::sddmm_variants()) {
        fmt::print("sddmm variant {:<10} {}{}\n", v.name, v.doc, v.baseline ? " [baseline]" : "");
      }
      for (const auto& v : gkd::kernels::cuda::edge_softmax_variants()) {
        fmt::print("edge_softmax variant {:<10} {}\n", v.name, v.doc);
      }
      return 0;
    }
    if (cmd == "cpu" && argc > 2) return run_cpu(argv[2], argc, argv);
    if (cmd == "gpu" && argc > 2) return gkd::bench::run_gpu(argv[2], argc, argv);
    fmt::print(cmd == "--help" || cmd == "-h" ? stdout : stderr, "{}", kUsage);
    return cmd == "--help" || cmd == "-h" ? 0 : 2;
  } catch (const gkd::Error& e) {
    fmt::print(stderr, "gkd-bench: {}\n", e.what());
    return 1;
  }
}
