// gkd-bench: the kernel lab. At this stage it lists the kernels (with the state of their CUDA
// twins) and times the CPU twins of the graph kernels on a synthetic graph, reporting the median
// time and the effective bandwidth of the compulsory-bytes model. Verification against the CPU
// twin and cuSPARSE ratios arrive with the CUDA twins.
#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/context.h"
#include "engine/error.h"
#include "engine/io/synthetic.h"
#include "engine/ops_graph.h"
#include "kernels/registry.h"

namespace {

constexpr const char* kUsage = R"(usage: gkd-bench list
       gkd-bench cpu spmm|sddmm [--graph G] [--nodes N] [--degree D] [--scale S]
                 [--edge-factor K] [--feat F] [--repeat R]

list   every kernel of kernels/kernels.def and whether its CUDA twin exists
cpu    median time of a CPU twin over R runs on a synthetic graph, with the
       bandwidth implied by the op's compulsory bytes (kernels/<op>.h)

graphs (--graph): csbm (default; --nodes, --degree), rmat (power law; --scale, --edge-factor),
and R-MAT graphs at the scale of ogbn-arxiv (2^17 nodes, 8 draws per node), Reddit (2^18, 200)
and ogbn-products (2^21, 16): arxiv | reddit | products
)";

int64_t flag(int argc, char** argv, const std::string& name, int64_t fallback) {
  for (int i = 0; i + 1 < argc; ++i) {
    if (argv[i] == name) {
      char* end = nullptr;
      const long long v = std::strtoll(argv[i + 1], &end, 10);
      GKD_CHECK(end && *end == '\0' && v > 0, "gkd-bench: ", name,
                " expects a positive integer (got '", argv[i + 1], "')");
      return v;
    }
  }
  return fallback;
}

// The benchmark graph named by --graph.
gkd::Graph make_graph(int argc, char** argv) {
  std::string name = "csbm";
  for (int i = 0; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--graph") name = argv[i + 1];
  }
  if (name == "csbm") {
    gkd::io::CsbmOptions o;
    o.num_nodes = flag(argc, argv, "--nodes", 100000);
    o.avg_degree = static_cast<double>(flag(argc, argv, "--degree", 16));
    o.num_features = 4;
    return gkd::io::make_csbm(o).graph;
  }
  gkd::io::RmatOptions r;
  if (name == "rmat") {
    r.scale = flag(argc, argv, "--scale", 16);
    r.edge_factor = flag(argc, argv, "--edge-factor", 16);
  } else if (name == "arxiv") {
    r.scale = 17, r.edge_factor = 8;
  } else if (name == "reddit") {
    r.scale = 18, r.edge_factor = 200;
  } else if (name == "products") {
    r.scale = 21, r.edge_factor = 16;
  } else {
    GKD_FAIL("gkd-bench: --graph ", name, " (expected csbm, rmat, arxiv, reddit or products)");
  }
  return gkd::io::make_rmat(r);
}

template <class Fn>
double median_ms(int64_t repeat, Fn&& fn) {
  fn();  // warm-up
  std::vector<double> ms;
  for (int64_t r = 0; r < repeat; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return ms[ms.size() / 2];
}

int run_cpu(const std::string& op, int argc, char** argv) {
  const int64_t f = flag(argc, argv, "--feat", 64), repeat = flag(argc, argv, "--repeat", 10);
  const gkd::Graph g = make_graph(argc, argv);
  const gkd::Context ctx = gkd::Context::cpu();
  const int64_t n = g.num_nodes(), e = g.num_edges();
  gkd::Tensor x = gkd::Tensor::full(n, f, 0.5, gkd::DType::kF32);  // [N, F]
  double ms = 0, bytes = 0;
  if (op == "spmm") {
    gkd::Tensor y = gkd::Tensor::empty(n, f, gkd::DType::kF32);  // [N, F]
    ms = median_ms(repeat, [&] { gkd::ops::spmm(ctx, g, x, gkd::Tensor(), y); });
    bytes = 8.0 * (n + 1) + 4.0 * e + 4.0 * e * f + 4.0 * n * f;
  } else if (op == "sddmm") {
    gkd::Tensor out = gkd::Tensor::empty(e, 1, gkd::DType::kF32);  // [E, 1]
    ms =
        median_ms(repeat, [&] { gkd::ops::sddmm(ctx, g, gkd::kernels::SddmmOp::kDot, x, x, out); });
    bytes = 8.0 * (n + 1) + 4.0 * e + 4.0 * n * f + 4.0 * e * f + 4.0 * e;
  } else {
    fmt::print(stderr, "gkd-bench: unknown op '{}' (expected spmm or sddmm)\n{}", op, kUsage);
    return 2;
  }
  fmt::print("op={} device=cpu nodes={} edges={} feat={} median_ms={:.3f} GB/s={:.2f}\n", op, n, e,
             f, ms, bytes / ms / 1e6);
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
      return 0;
    }
    if (cmd == "cpu" && argc > 2) return run_cpu(argv[2], argc, argv);
    fmt::print(cmd == "--help" || cmd == "-h" ? stdout : stderr, "{}", kUsage);
    return cmd == "--help" || cmd == "-h" ? 0 : 2;
  } catch (const gkd::Error& e) {
    fmt::print(stderr, "gkd-bench: {}\n", e.what());
    return 1;
  }
}
