// gkd data info PATH: loads and validates a node-classification dataset, prints its statistics.
#include <fmt/core.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/data_source.h"

namespace gkd::cli {

int run_data(int argc, char** argv) {
  constexpr const char* kUsage =
      "usage: gkd data info PATH|synthetic[:key=value,...]\n"
      "  loads a node-classification .npz (validating every field) and prints its statistics\n";
  const std::string sub = argc > 1 ? argv[1] : "";
  if (sub == "--help" || sub == "-h") {
    fmt::print("{}", kUsage);
    return 0;
  }
  if (sub != "info" || argc != 3) throw UsageError(std::string("expected `info PATH`\n") + kUsage);
  DataOptions o;
  o.spec = argv[2];
  const io::NodeDataset d = load_node_data(o, 0);
  const Graph& g = d.graph;
  int64_t isolated = 0, self_loops = 0, reciprocal = 0;
  const auto& indptr = g.host_in_indptr();
  const auto& src = g.host_in_indices();
  for (int64_t v = 0; v < g.num_nodes(); ++v) {
    isolated += indptr[v] == indptr[v + 1] && g.host_out_indptr()[v] == g.host_out_indptr()[v + 1];
    for (int64_t p = indptr[v]; p < indptr[v + 1]; ++p) {
      const int32_t u = src[p];
      self_loops += u == v;
      // Is v -> u stored too? (in-row of u lists its sources, sorted)
      const auto b = src.begin() + indptr[u], e = src.begin() + indptr[u + 1];
      reciprocal += std::binary_search(b, e, static_cast<int32_t>(v));
    }
  }
  std::vector<int64_t> counts(d.num_classes, 0);
  for (int64_t y : d.y.to_vector<int64_t>()) counts[y]++;
  const auto count = [](const Tensor& m) {
    int64_t n = 0;
    for (uint8_t b : m.to_vector<uint8_t>()) n += b != 0;
    return n;
  };
  fmt::print("dataset: {}\n", d.name);
  fmt::print("nodes: {}\nedges: {} directed ({} with a reverse edge, {} self loops)\n",
             g.num_nodes(), g.num_edges(), reciprocal, self_loops);
  fmt::print("isolated nodes: {}\n", isolated);
  if (d.x.is_sparse()) {
    fmt::print("features: {} sparse, {} nonzeros ({:.2f}%)\n", d.x.cols(), d.x.sparse.nnz(),
               100.0 * static_cast<double>(d.x.sparse.nnz()) /
                   static_cast<double>(std::max<int64_t>(1, d.x.rows() * d.x.cols())));
  } else {
    fmt::print("features: {} dense\n", d.x.cols());
  }
  std::string cc;
  for (int64_t n : counts) cc += (cc.empty() ? "" : ", ") + std::to_string(n);
  fmt::print("classes: {} (nodes per class: {})\n", d.num_classes, cc);
  fmt::print("split: train {}, val {}, test {}\n", count(d.train_mask), count(d.val_mask),
             count(d.test_mask));
  return 0;
}

}  // namespace gkd::cli
