// gkd-bench gpu: for an op, every graph and width, each CUDA variant is first checked against the
// CPU twin on sampled rows and refused if wrong; the correct ones are then timed with CUDA events.
//
// Figures (performance.md §1.4, §5.4), for N nodes, E edges, width F (H heads):
//   compulsory bytes  spmm: 8(N+1) + 4E + 4E·w + 8NF (w = 1: one weight per edge)
//                     sddmm: 8(N+1) + 4E + 8NF + 4E
//                     edge_softmax: 8(N+1) + 8EH (the streaming floor: logits in, probabilities
//                     out)
//   GB/s              compulsory bytes / cold time, and that as a fraction of the card's copy
//   GFLOP/s           2EF / cold time (spmm, sddmm)
//   vs_cusparse       cuSPARSE's cold time / the variant's (spmm, sddmm)
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "bench/bench_gpu.h"
#include "engine/context.h"
#include "engine/device.h"
#include "engine/error.h"
#include "engine/ops_graph.h"
#include "engine/ops_segment.h"
#include "kernels/registry.h"
#include "kernels/variants.h"

namespace gkd::bench {
namespace {

using kernels::CsrView;

// ---- inputs

// Uniform in [-1, 1), a pure function of (seed, i): the same values at any thread count.
Tensor random_host(int64_t rows, int64_t cols, uint64_t seed) {
  Tensor t = Tensor::empty(rows, cols, DType::kF32);
  float* p = t.data<float>();
  const int64_t n = rows * cols;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    uint64_t z = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(i) + 1;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    p[i] = static_cast<float>(static_cast<double>(z >> 40) / double(1 << 23) - 1.0);
  }
  return t;
}

// The checked rows of a graph's in-CSR: the longest row, the first and the last, and evenly
// spaced others up to `count`, as a CSR of their own whose edge ids are the original positions.
struct SampledRows {
  std::vector<int64_t> rows;
  std::vector<int64_t> indptr;
  std::vector<int32_t> indices, positions;

  CsrView csr(int64_t cols) const {
    return CsrView{static_cast<int64_t>(rows.size()),
                   cols,
                   static_cast<int64_t>(indices.size()),
                   indptr.data(),
                   indices.data(),
                   positions.data()};
  }
};

SampledRows sample_rows(const Graph& g, int64_t count) {
  const std::vector<int64_t>& indptr = g.host_in_indptr();
  const std::vector<int32_t>& indices = g.host_in_indices();
  const int64_t n = g.num_nodes();
  SampledRows s;
  int64_t hub = 0;  // a row with the most in-edges
  for (int64_t v = 0; v < n; ++v) {
    if (indptr[v + 1] - indptr[v] > indptr[hub + 1] - indptr[hub]) hub = v;
  }
  const int64_t picks = std::min(n, count);
  for (int64_t k = 0; k < picks; ++k) s.rows.push_back(k * n / std::max<int64_t>(picks, 1));
  if (n > 0) s.rows.push_back(n - 1), s.rows.push_back(hub);
  std::sort(s.rows.begin(), s.rows.end());
  s.rows.erase(std::unique(s.rows.begin(), s.rows.end()), s.rows.end());
  s.indptr.push_back(0);
  for (const int64_t v : s.rows) {
    for (int64_t p = indptr[v]; p < indptr[v + 1]; ++p) {
      s.indices.push_back(indices[p]);
      s.positions.push_back(static_cast<int32_t>(p));
    }
    s.indptr.push_back(static_cast<int64_t>(s.indices.size()));
  }
  return s;
}

// ---- checking

// The largest error of got against want, in units of the allowed 1e-5 * sqrt(len) * (1 + |want|)
// for a sum of len terms; > 1 (or NaN) is wrong. want_rows[k] is compared with got row rows[k].
double error_ratio(const Tensor& got, const std::vector<int64_t>& rows, const Tensor& want,
                   const std::vector<int64_t>& lens) {
  double worst = 0;
  for (size_t k = 0; k < rows.size(); ++k) {
    const double allowed = 1e-5 * std::sqrt(double(std::max<int64_t>(lens[k], 1)));
    for (int64_t j = 0; j < want.cols(); ++j) {
      const double w = want.data<float>()[k * want.cols() + j];
      const double g = got.data<float>()[rows[k] * got.ld() + j];
      const double r = std::abs(g - w) / (allowed * (1 + std::abs(w)));
      if (!(r <= worst)) worst = std::isnan(r) ? std::numeric_limits<double>::infinity() : r;
    }
  }
  return worst;
}

// ---- timing

struct Timing {
  double cold_ms = 0, warm_ms = 0;
};

Timing time_it(const Context& ctx, const std::function<void()>& run, int64_t repeat) {
  for (int w = 0; w < 3; ++w) run();
  ctx.synchronize();
  std::vector<double> cold, warm;
  for (int64_t r = 0; r < repeat; ++r) {
    device::cuda_flush_l2(ctx.stream());
    cold.push_back(device::cuda_elapsed_ms(ctx.stream(), run));
  }
  for (int64_t r = 0; r < repeat; ++r) warm.push_back(device::cuda_elapsed_ms(ctx.stream(), run));
  return {median(cold), median(warm)};
}

// ---- output

struct Result {
  std::string op, graph, variant, status;  // status: ok | wrong | unsupported | error
  int64_t nodes = 0, edges = 0, feat = 0, heads = 1;
  Timing t;
  double bytes = 0, flops = 0, error = 0;
  double vs_cusparse = 0;  // 0: no cuSPARSE figure for this cell
  bool chosen = false;     // the variant the op runs for this shape when none is named
};

class Printer {
 public:
  Printer(std::string format, std::string device, double copy_gbs)
      : format_(std::move(format)), device_(std::move(device)), copy_gbs_(copy_gbs) {
    GKD_CHECK(format_ == "table" || format_ == "csv" || format_ == "jsonl", "gkd-bench: --format ",
              format_, " (expected table, csv or jsonl)");
    if (format_ == "csv") {
      fmt::print(
          "op,graph,nodes,edges,feat,heads,variant,status,cold_ms,warm_ms,gbs,copy_fraction,"
          "gflops,vs_cusparse,error_ratio,device,copy_gbs\n");
    } else if (format_ == "table") {
      fmt::print("device: {}; measured device copy: {:.0f} GB/s\n", device_, copy_gbs_);
      fmt::print(
          "{:<13} {:<10} {:>9} {:>10} {:>4} {:<10} {:<11} {:>9} {:>9} {:>8} {:>6} {:>8} {:>6}\n",
          "op", "graph", "nodes", "edges", "F", "variant", "status", "cold_ms", "warm_ms", "GB/s",
          "copy%", "GFLOP/s", "vs_cs");
    }
  }

  void print(const Result& r) const {
    const bool ok = r.status == "ok";
    const double gbs = ok ? r.bytes / (r.t.cold_ms * 1e6) : 0;
    const double gflops = ok && r.flops > 0 ? r.flops / (r.t.cold_ms * 1e6) : 0;
    if (format_ == "csv") {
      fmt::print(
          "{},{},{},{},{},{},{},{},{:.5f},{:.5f},{:.1f},{:.3f},{:.1f},{:.3f},{:.3g},\"{}\",{:.0f}"
          "\n",
          r.op, r.graph, r.nodes, r.edges, r.feat, r.heads, r.variant, r.status, r.t.cold_ms,
          r.t.warm_ms, gbs, gbs / copy_gbs_, gflops, r.vs_cusparse, r.error, device_, copy_gbs_);
    } else if (format_ == "jsonl") {
      fmt::print(
          "{{\"op\":\"{}\",\"graph\":\"{}\",\"nodes\":{},\"edges\":{},\"feat\":{},\"heads\":{},"
          "\"variant\":\"{}\",\"status\":\"{}\",\"cold_ms\":{:.5f},\"warm_ms\":{:.5f},"
          "\"gbs\":{:.1f},\"copy_fraction\":{:.3f},\"gflops\":{:.1f},\"vs_cusparse\":{:.3f},"
          "\"error_ratio\":{:.3g},\"device\":\"{}\",\"copy_gbs\":{:.0f}}}\n",
          r.op, r.graph, r.nodes, r.edges, r.feat, r.heads, r.variant, r.status, r.t.cold_ms,
          r.t.warm_ms, gbs, gbs / copy_gbs_, gflops, r.vs_cusparse, r.error, device_, copy_gbs_);
    } else {
      fmt::print(
          "{:<13} {:<10} {:>9} {:>10} {:>4} {:<10} {:<11} {:>9.4f} {:>9.4f} {:>8.0f} {:>5.0f}% "
          "{:>8.0f} {:>6}\n",
          r.op, r.graph.substr(0, 10), r.nodes, r.edges, r.feat, r.variant, r.status, r.t.cold_ms,
          r.t.warm_ms, gbs, 100 * gbs / copy_gbs_, gflops,
          r.vs_cusparse > 0 ? fmt::format("{:.2f}x", r.vs_cusparse) : "-");
    }
    std::fflush(stdout);
  }

  // A summary line (stderr in csv/jsonl, so the data stream stays parseable).
  template <class... Args>
  void note(fmt::format_string<Args...> f, Args&&... args) const {
    fmt::print(format_ == "table" ? stdout : stderr, f, std::forward<Args>(args)...);
  }

 private:
  std::string format_, device_;
  double copy_gbs_;
};

// ---- the ops

std::string short_name(const std::string& graph) {
  const size_t slash = graph.find_last_of('/');
  std::string name = slash == std::string::npos ? graph : graph.substr(slash + 1);
  return name.ends_with(".npz") ? name.substr(0, name.size() - 4) : name;
}

struct Cell {
  const Context& gpu;
  const Graph& g;   // on the CPU
  const Graph& dg;  // on the device
  const SampledRows& sample;
  std::string graph;
  int64_t feat, heads, repeat;
};

bool wanted(const std::vector<std::string>& names, const char* variant) {
  return (names.size() == 1 && names[0] == "all") ||
         std::find(names.begin(), names.end(), variant) != names.end();
}

// Every wanted variant of an op on one cell, in table order: first its output (poisoned with NaN
// before the call) against the CPU twin, then, if right, its timing. `cell` holds the op, sizes
// and byte and FLOP models; `args` the op's arguments with no variant named; run(name) runs the
// named variant into `out`, and error() compares `out` with the twin. The cuSPARSE row, when
// there is one and it is right, gives every right row its ratio.
template <class Variant, class Args, class RunFn, class ErrorFn>
std::vector<Result> bench_variants(const Cell& c, std::span<const Variant> variants,
                                   const std::vector<std::string>& names, const Result& cell,
                                   const Args& args, Tensor& out, RunFn&& run, ErrorFn&& error) {
  const char* chosen = nullptr;
  for (const Variant& v : variants) {
    if (!v.baseline && v.supports(args) && (!v.prefers || v.prefers(args))) {
      chosen = v.name;
      break;
    }
  }
  std::vector<Result> results;
  for (const Variant& v : variants) {
    if (!wanted(names, v.name)) continue;
    Result r = cell;
    r.variant = v.name;
    r.chosen = chosen && std::string(chosen) == v.name;
    if (!v.supports(args)) {
      r.status = "unsupported";
      results.push_back(r);
      continue;
    }
    const auto call = [&] { run(v.name); };
    try {
      out.fill(std::nan(""));
      call();
      r.error = error();
      r.status = r.error <= 1 ? "ok" : "wrong";
      if (r.status == "ok") r.t = time_it(c.gpu, call, c.repeat);
    } catch (const Error& failure) {  // e.g. a library refusing a shape: report, go on
      r.status = "error";
      fmt::print(stderr, "gkd-bench: {} {} on {} F={}: {}\n", r.op, v.name, r.graph, r.feat,
                 failure.what());
    }
    results.push_back(r);
  }
  const auto cs = std::find_if(results.begin(), results.end(), [](const Result& r) {
    return r.variant == "cusparse" && r.status == "ok";
  });
  if (cs != results.end()) {
    for (Result& r : results) {
      if (r.status == "ok") r.vs_cusparse = cs->t.cold_ms / r.t.cold_ms;
    }
  }
  return results;
}

// SpMM with one weight per edge over the in-CSR.
std::vector<Result> bench_spmm(const Cell& c, const std::vector<std::string>& names) {
  const int64_t n = c.g.num_nodes(), e = c.g.num_edges(), f = c.feat;
  const Tensor x = random_host(n, f, 1), w = random_host(e, 1, 2);
  const Tensor dx = x.to(Device::kCUDA), dw = w.to(Device::kCUDA);
  Tensor y = Tensor::empty(n, f, DType::kF32, Device::kCUDA);
  // The CPU twin on the sampled rows.
  Tensor want = Tensor::empty(static_cast<int64_t>(c.sample.rows.size()), f, DType::kF32);
  kernels::cpu::spmm<float>(kernels::SpmmArgs<float>{c.sample.csr(n), w.data<float>(), 1, false,
                                                     x.cview<float>(), want.view<float>(), false});
  std::vector<int64_t> lens;
  for (size_t k = 0; k + 1 < c.sample.indptr.size(); ++k) {
    lens.push_back(c.sample.indptr[k + 1] - c.sample.indptr[k]);
  }
  Result cell{.op = "spmm", .graph = c.graph, .nodes = n, .edges = e, .feat = f, .heads = 1};
  cell.bytes = 8.0 * (n + 1) + 8.0 * e + 8.0 * n * f;
  cell.flops = 2.0 * e * f;
  const kernels::SpmmArgs<float> args{c.dg.in_csr(),     dw.data<float>(), 1,    false,
                                      dx.cview<float>(), y.view<float>(),  false};
  return bench_variants(
      c, kernels::cuda::spmm_variants(), names, cell, args, y,
      [&](const char* variant) { ops::spmm(c.gpu, c.dg, dx, dw, y, {.variant = variant}); },
      [&] { return error_ratio(y.to(Device::kCPU), c.sample.rows, want, lens); });
}

// SDDMM dot with one head over the in-CSR.
std::vector<Result> bench_sddmm(const Cell& c, const std::vector<std::string>& names) {
  const int64_t n = c.g.num_nodes(), e = c.g.num_edges(), f = c.feat;
  const Tensor u = random_host(n, f, 3), v = random_host(n, f, 4);
  const Tensor du = u.to(Device::kCUDA), dv = v.to(Device::kCUDA);
  Tensor out = Tensor::empty(e, 1, DType::kF32, Device::kCUDA);
  // The CPU twin on the sampled rows: their destination features, their edges in order.
  const int64_t s = static_cast<int64_t>(c.sample.rows.size());
  Tensor v_rows = Tensor::empty(s, f, DType::kF32);
  for (int64_t k = 0; k < s; ++k) {
    std::copy_n(v.data<float>() + c.sample.rows[k] * f, f, v_rows.data<float>() + k * f);
  }
  CsrView sub = c.sample.csr(n);
  sub.edge_ids = nullptr;  // the twin writes position k of the sampled CSR
  Tensor want = Tensor::empty(sub.nnz, 1, DType::kF32);
  kernels::cpu::sddmm<float>(kernels::SddmmArgs<float>{sub, kernels::SddmmOp::kDot, 1,
                                                       u.cview<float>(), v_rows.cview<float>(),
                                                       want.view<float>(), false});
  const std::vector<int64_t> positions(c.sample.positions.begin(), c.sample.positions.end());
  Result cell{.op = "sddmm", .graph = c.graph, .nodes = n, .edges = e, .feat = f, .heads = 1};
  cell.bytes = 8.0 * (n + 1) + 4.0 * e + 8.0 * n * f + 4.0 * e;
  cell.flops = 2.0 * e * f;
  const kernels::SddmmArgs<float> args{
      c.dg.in_csr(),     kernels::SddmmOp::kDot, 1,    du.cview<float>(),
      dv.cview<float>(), out.view<float>(),      false};
  return bench_variants(
      c, kernels::cuda::sddmm_variants(), names, cell, args, out,
      [&](const char* variant) {
        ops::sddmm(c.gpu, c.dg, kernels::SddmmOp::kDot, du, dv, out, false, variant);
      },
      [&] {
        return error_ratio(out.to(Device::kCPU), positions, want,
                           std::vector<int64_t>(positions.size(), f));
      });
}

// Edge softmax of H heads of logits over the in-CSR.
std::vector<Result> bench_edge_softmax(const Cell& c, const std::vector<std::string>& names) {
  const int64_t n = c.g.num_nodes(), e = c.g.num_edges(), h = c.heads;
  const Tensor z = random_host(e, h, 5);
  const Tensor dz = z.to(Device::kCUDA);
  Tensor p = Tensor::empty(e, h, DType::kF32, Device::kCUDA);
  Tensor want_full = Tensor::full(e, h, 0.0, DType::kF32);
  kernels::cpu::edge_softmax<float>(kernels::EdgeSoftmaxArgs<float>{
      c.sample.csr(n), z.cview<float>(), want_full.view<float>(), false});
  const std::vector<int64_t> positions(c.sample.positions.begin(), c.sample.positions.end());
  Tensor want = Tensor::empty(static_cast<int64_t>(positions.size()), h, DType::kF32);
  for (size_t k = 0; k < positions.size(); ++k) {
    std::copy_n(want_full.data<float>() + positions[k] * h, h, want.data<float>() + k * h);
  }
  std::vector<int64_t> lens;  // each probability normalises over its row
  for (size_t r = 0; r + 1 < c.sample.indptr.size(); ++r) {
    lens.insert(lens.end(), c.sample.indptr[r + 1] - c.sample.indptr[r],
                c.sample.indptr[r + 1] - c.sample.indptr[r]);
  }
  Result cell{
      .op = "edge_softmax", .graph = c.graph, .nodes = n, .edges = e, .feat = 0, .heads = h};
  cell.bytes = 8.0 * (n + 1) + 8.0 * e * h;
  const kernels::EdgeSoftmaxArgs<float> args{
      .a = c.dg.in_csr(), .z = dz.cview<float>(), .p = p.view<float>(), .log = false};
  return bench_variants(
      c, kernels::cuda::edge_softmax_variants(), names, cell, args, p,
      [&](const char* variant) { ops::edge_softmax(c.gpu, c.dg, dz, p, false, variant); },
      [&] { return error_ratio(p.to(Device::kCPU), positions, want, lens); });
}

// Random row gathers from a table of rows (the cache-gather ceiling of performance.md §1.4, which
// no public figure gives for these cards): M rows of F floats, drawn at random from a table of the
// given size, through the gather_rows twin (a thread per element, a row's threads consecutive).
// A table that fits in L2 measures L2 gathers; one many times its size, DRAM gathers. Bytes:
// 8·M·F (rows read and written) + 4·M (indices). Returns false when the output was wrong.
bool bench_gather(const Context& gpu, const Printer& out, const std::vector<int64_t>& feats,
                  const std::vector<int64_t>& table_mbs, int64_t repeat) {
  constexpr int64_t kGathered = int64_t{1} << 22;  // rows gathered per call
  bool right = true;
  for (const int64_t mb : table_mbs) {
    for (const int64_t f : feats) {
      const int64_t rows = std::max<int64_t>(1, (mb << 20) / (4 * f));
      const Tensor table = random_host(rows, f, 6);
      std::vector<int32_t> picks(static_cast<size_t>(kGathered));
      uint64_t z = 88172645463325252ull;  // xorshift64: any fixed sequence will do
      for (int32_t& r : picks) {
        z ^= z << 13, z ^= z >> 7, z ^= z << 17;
        r = static_cast<int32_t>(z % static_cast<uint64_t>(rows));
      }
      const Tensor index = Tensor::from_vector<int32_t>(kGathered, 1, picks).to(Device::kCUDA);
      const Tensor d_table = table.to(Device::kCUDA);
      Tensor y = Tensor::empty(kGathered, f, DType::kF32, Device::kCUDA);
      Result r{.op = "gather",
               .graph = fmt::format("table{}MB", mb),
               .variant = "cuda",
               .nodes = rows,
               .edges = kGathered,
               .feat = f};
      r.bytes = 8.0 * kGathered * f + 4.0 * kGathered;
      const auto run = [&] { ops::gather_rows(gpu, d_table, index, y); };
      y.fill(std::nan(""));
      run();
      const Tensor got = y.to(Device::kCPU);
      for (int64_t i = 0; i < kGathered; i += 997) {  // exact copies: any difference is wrong
        for (int64_t j = 0; j < f; ++j) {
          if (got.data<float>()[i * f + j] != table.data<float>()[picks[i] * f + j]) {
            r.error = std::numeric_limits<double>::infinity();
          }
        }
      }
      r.status = r.error == 0 ? "ok" : "wrong";
      if (r.status == "ok") r.t = time_it(gpu, run, repeat);
      right = right && r.status == "ok";
      out.print(r);
    }
  }
  return right;
}

}  // namespace

int run_gpu(const std::string& op, int argc, char** argv) {
  GKD_CHECK(op == "spmm" || op == "sddmm" || op == "edge_softmax" || op == "gather",
            "gkd-bench gpu: unknown op '", op, "' (expected spmm, sddmm, edge_softmax or gather)");
  const Context gpu = Context::cuda();
  const std::vector<std::string> graphs = list_flag(argc, argv, "--graph", "csbm");
  const std::vector<int64_t> feats = int_list_flag(argc, argv, "--feat", "16,32,64,128,256,512");
  const std::vector<std::string> variants = list_flag(argc, argv, "--variants", "all");
  const int64_t repeat = int_flag(argc, argv, "--repeat", 20);
  const int64_t heads = int_flag(argc, argv, "--heads", 1);
  const int64_t check_rows = int_flag(argc, argv, "--check-rows", 2048);
  const Printer out(flag(argc, argv, "--format", "table"), device::cuda_device_name(),
                    device::cuda_copy_bandwidth_gbs(gpu.stream()));
  if (op == "gather") {
    const bool right =
        bench_gather(gpu, out, feats, int_list_flag(argc, argv, "--table-mb", "16,4096"), repeat);
    if (!right) out.note("the gather was WRONG against the table; not timed\n");
    return right ? 0 : 1;
  }
  bool wrong = false;
  std::vector<double> ratios;  // the shape-chosen variant against cuSPARSE, per cell
  std::string worst_cell;
  double worst = std::numeric_limits<double>::infinity();
  for (const std::string& name : graphs) {
    const Graph g = make_graph(name, argc, argv);
    const Graph dg = g.to(Device::kCUDA);
    const SampledRows sample = sample_rows(g, check_rows);
    const auto run_cell = [&](int64_t feat) {
      const Cell cell{gpu, g, dg, sample, short_name(name), feat, heads, repeat};
      if (op == "sddmm") return bench_sddmm(cell, variants);
      if (op == "edge_softmax") return bench_edge_softmax(cell, variants);
      return bench_spmm(cell, variants);
    };
    for (const int64_t feat : op == "edge_softmax" ? std::vector<int64_t>{0} : feats) {
      const std::vector<Result> results = run_cell(feat);
      for (const Result& r : results) {
        out.print(r);
        wrong = wrong || r.status == "wrong" || r.status == "error";
      }
      for (const Result& r : results) {
        if (!r.chosen || r.vs_cusparse <= 0) continue;
        ratios.push_back(r.vs_cusparse);
        if (r.vs_cusparse < worst) {
          worst = r.vs_cusparse;
          worst_cell = fmt::format("{} F={} ({})", r.graph, feat, r.variant);
        }
      }
    }
  }
  if (!ratios.empty()) {
    double log_sum = 0;
    for (const double r : ratios) log_sum += std::log(r);
    out.note(
        "{}, the variant chosen by shape vs cuSPARSE: geomean {:.2f}x over {} cells, "
        "lowest {:.2f}x at {}\n",
        op, std::exp(log_sum / double(ratios.size())), ratios.size(), worst, worst_cell);
  }
  if (wrong) out.note("some variants were WRONG against the CPU twin or failed; not timed\n");
  return wrong ? 1 : 0;
}

}  // namespace gkd::bench
